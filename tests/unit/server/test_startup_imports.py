"""What a web process loads at start: heavy libraries that only some requests need stay out until
such a request comes (they cost every idle web and upload node memory)."""

from __future__ import annotations

import json
import subprocess
import sys

ON_DEMAND = ("jwt", "cryptography")


def loaded_after(statements: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` a fresh interpreter holds after running ``statements``."""
    report = f"print(json.dumps(sorted(m for m in {modules!r} if m in sys.modules)))"
    code = f"import json, sys\n{statements}\n{report}\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    found: list[str] = json.loads(done.stdout)
    return found


def test_web_process_starts_without_the_signing_libraries() -> None:
    web = "import reelhouse.cli.main, reelhouse.cli.runtime, reelhouse.server.app"
    assert loaded_after(web, ON_DEMAND) == []


def test_the_first_key_operation_loads_them() -> None:
    sign = (
        "from reelhouse.media import signing_keys\n"
        "signing_keys.sign_playback_token(signing_keys.generate_key_pair()[0], key_id='k',"
        " playback_id='p', audience='v', expires_at=2**31)"
    )
    assert loaded_after(sign, ON_DEMAND) == sorted(ON_DEMAND)


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
    assert loaded_after("import reelhouse.cli.main", CLI_ON_DEMAND) == []


def test_the_upload_node_loads_none_of_the_web_process() -> None:
    node = "import reelhouse.cli.main, reelhouse.cli.uploads_node, reelhouse.server.upload_node"
    web_only = (*CLI_ON_DEMAND, "reelhouse.schemas", "limits", "jwt", "cryptography")
    assert loaded_after(node, web_only) == []
