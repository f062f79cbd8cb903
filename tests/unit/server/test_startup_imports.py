"""What a web process loads at start: heavy libraries that only some requests need stay out until
such a request comes (they cost every idle web and upload node memory)."""

from __future__ import annotations

import json
import subprocess
import sys

ON_DEMAND = ("jwt", "cryptography")


def test_web_process_starts_without_the_signing_libraries() -> None:
    code = (
        "import json, sys\n"
        "import reelhouse.cli.main, reelhouse.cli.runtime, reelhouse.server.app\n"
        f"print(json.dumps(sorted(m for m in {ON_DEMAND!r} if m in sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def test_the_first_key_operation_loads_them() -> None:
    code = (
        "import json, sys\n"
        "from reelhouse.media import signing_keys\n"
        "signing_keys.sign_playback_token(signing_keys.generate_key_pair()[0], key_id='k',"
        " playback_id='p', audience='v', expires_at=2**31)\n"
        f"print(json.dumps(sorted(m for m in {ON_DEMAND!r} if m in sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == sorted(ON_DEMAND)


# What the CLI module may not pull in at import: a lean process started through `reelhouse`
# (an upload-only server, say) loads these only when a command or role needs them.
CLI_ON_DEMAND = (
    "sqlalchemy",
    "fastapi",
    "httpx",
    "av",
    "alembic",
    "procrastinate",
    "jinja2",
    "reelhouse.server.app",
    "reelhouse.cli.runtime",
)


def test_the_cli_imports_without_the_server_and_the_database() -> None:
    code = (
        "import json, sys\n"
        "import reelhouse.cli.main\n"
        f"print(json.dumps(sorted(m for m in {CLI_ON_DEMAND!r} if m in sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def test_the_upload_node_loads_none_of_the_web_process() -> None:
    code = (
        "import json, sys\n"
        "import reelhouse.cli.main, reelhouse.cli.uploads_node, reelhouse.server.upload_node\n"
        f"wanted = {(*CLI_ON_DEMAND, 'reelhouse.schemas', 'limits', 'jwt', 'cryptography')!r}\n"
        "print(json.dumps(sorted(m for m in wanted if m in sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []
