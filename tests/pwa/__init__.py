"""The floor app (PWA) in Chromium: its screens, offline sync, updates, scanning and the illustrated guides."""
