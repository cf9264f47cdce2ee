"""Qt apps for citizens: the ticket kiosk (取号机) and the hall screen (综合屏)."""
