"""`--screenshots DIR` of every device program, and the county hall's (lab.demo_shots)."""
