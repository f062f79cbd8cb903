import hashlib

TUS = {"Tus-Resumable": "1.0.0"}
PATCH = {**TUS, "Content-Type": "application/offset+octet-stream"}


async def test_create_patch_head(client, harness):
    data = bytes(range(256)) * 1000
    r = await client.post("/files/", headers={**TUS, "Upload-Length": str(len(data))})
    assert r.status_code == 201, r.text
    url = r.headers["location"]
    r = await client.patch(url, content=data[:1000], headers={**PATCH, "Upload-Offset": "0"})
    assert r.status_code == 204, r.text
    assert r.headers["upload-offset"] == "1000"
    r = await client.head(url, headers=TUS)
    assert r.headers["upload-offset"] == "1000"
    r = await client.patch(url, content=data[1000:], headers={**PATCH, "Upload-Offset": "1000"})
    assert r.status_code == 204
    assert harness.hooks.finished[0].sha256 == hashlib.sha256(data).hexdigest()
