"""tus-js-client (from npm, run by Node.js) uploads to a direct-upload URL and resumes."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .server import ServerProcess
from .uploads_client import create_direct_upload, stored_bytes

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "node_modules"

SCRIPT = r"""
const tus = require("tus-js-client");
const fs = require("fs");
const [file, endpoint, stopAt] = process.argv.slice(2);
const data = fs.readFileSync(file);
function run(limit) {
  return new Promise((resolve, reject) => {
    const upload = new tus.Upload(data, {
      endpoint,
      chunkSize: 256 * 1024,
      metadata: { filename: "lesson.mp4", filetype: "video/mp4" },
      retryDelays: [0, 200],
      urlStorage: new tus.FileUrlStorage(process.env.TUS_STORAGE),
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      fingerprint: async () => "fixed-fingerprint",
      onProgress: (sent) => {
        if (limit && sent >= limit) { upload.abort(); resolve({ aborted: sent }); }
      },
      onError: reject,
      onSuccess: () => resolve({ url: upload.url }),
    });
    upload.findPreviousUploads().then((previous) => {
      if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
      upload.start();
    });
  });
}
(async () => {
  const first = await run(Number(stopAt));
  const second = await run(0);
  console.log(JSON.stringify({ first, second }));
})().catch((err) => { console.error(String(err)); process.exit(1); });
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_tus_js_client_uploads_and_resumes(server: ServerProcess, tmp_path: Path) -> None:
    if not (NODE_MODULES / "tus-js-client").exists():
        pytest.fail("tus-js-client is missing: run `make install` (npm install)")
    data = os.urandom(3 * 1024 * 1024 + 17)
    source = tmp_path / "lesson.mp4"
    source.write_bytes(data)
    script = tmp_path / "upload.js"
    script.write_text(SCRIPT)
    with server.client() as api:
        url = str(create_direct_upload(api)["url"])
    env = {
        **os.environ,
        "NODE_PATH": str(NODE_MODULES),
        "TUS_STORAGE": str(tmp_path / "tus-urls.json"),
    }
    done = subprocess.run(
        ["node", str(script), str(source), url, str(1024 * 1024)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["first"]["aborted"] >= 1024 * 1024
    assert result["second"]["url"] == url
    stored = stored_bytes(server.data_dir, url.rsplit("/", 1)[-1])
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(data).hexdigest()
