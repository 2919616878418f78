"""`floorsync serve` under cProfile, for `python -m bench --only push --profile`.

uvicorn re-raises SIGTERM after shutdown, so nothing runs at exit: the profile is written when the file
`<out>.go` appears (a watcher thread), while the server still runs.
"""

import cProfile
import marshal
import os
import sys
import threading
import time

out = sys.argv[1]
profile = cProfile.Profile()


def write_when_asked() -> None:
    while not os.path.exists(out + ".go"):
        time.sleep(0.2)
    profile.snapshot_stats()
    with open(out + ".tmp", "wb") as f:
        marshal.dump(profile.stats, f)
    os.replace(out + ".tmp", out)


threading.Thread(target=write_when_asked, daemon=True).start()
sys.argv = ["floorsync", *sys.argv[2:]]
from server.cli import main  # noqa: E402

profile.enable()
main()
