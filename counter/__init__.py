"""The Qt counter terminal for window staff (窗口叫号终端)."""
