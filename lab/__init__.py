"""The lab wing: the demo, the soak, the benchmarks and the screenshot makers. They run the
product (a hall server, devices, a simulated clock) to show it, measure it and stress it;
nothing in the product imports them (tests/test_layers.py)."""
