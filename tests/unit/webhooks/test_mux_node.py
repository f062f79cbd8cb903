"""Our signatures verify with Mux's own Node SDK (``@mux/mux-node`` ``webhooks.unwrap``)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from reelhouse.webhooks.signatures import sign

ROOT = Path(__file__).resolve().parents[3]
SDK = ROOT / "node_modules" / "@mux" / "mux-node"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not SDK.is_dir(),
    reason="needs node and `npm install` (@mux/mux-node)",
)

# Reads {body, headers, secret} cases on stdin; prints one "ok" or the error message per case.
SCRIPT = """
const Mux = require('@mux/mux-node');
let input = '';
process.stdin.on('data', (c) => (input += c));
process.stdin.on('end', async () => {
  const mux = new Mux({ tokenId: 'unused', tokenSecret: 'unused' });
  const out = [];
  for (const c of JSON.parse(input)) {
    try {
      const event = await mux.webhooks.unwrap(c.body, c.headers, c.secret);
      out.push('ok:' + event.type + ':' + event.id);
    } catch (e) {
      out.push('error:' + e.message);
    }
  }
  console.log(JSON.stringify(out));
});
"""


def unwrap(cases: list[dict[str, object]]) -> list[str]:
    done = subprocess.run(
        ["node", "-e", SCRIPT],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    return list(json.loads(done.stdout))


def test_mux_node_unwraps_what_we_sign() -> None:
    body = json.dumps(
        {
            "type": "video.asset.ready",
            "id": "e-1",
            "object": {"type": "asset", "id": "a"},
            "data": {"id": "a", "note": "é ✓"},
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )
    now = int(time.time())
    header = sign("whsec-node", body.encode(), now)
    results = unwrap(
        [
            {"body": body, "headers": {"mux-signature": header}, "secret": "whsec-node"},
            {"body": body, "headers": {"Mux-Signature": header}, "secret": "whsec-node"},
            {"body": body, "headers": {"mux-signature": header}, "secret": "wrong"},
            {"body": body + " ", "headers": {"mux-signature": header}, "secret": "whsec-node"},
            {
                "body": body,
                "headers": {"mux-signature": sign("whsec-node", body.encode(), now - 3600)},
                "secret": "whsec-node",
            },
        ]
    )
    assert results[:2] == ["ok:video.asset.ready:e-1"] * 2
    assert all(result.startswith("error:") for result in results[2:])
    assert "too old" in results[4]
