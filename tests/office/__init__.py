"""The office pages: forms over HTTP and in Chromium, CSV export and import."""
