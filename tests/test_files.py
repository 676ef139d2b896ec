"""Downloads and temporary files: what is finished gets its name, nothing else is left."""

from __future__ import annotations

import functools
import http.server
import threading

import pytest

from audiogan.files import download


@pytest.fixture()
def served(tmp_path):
    """A folder served over HTTP on the loopback address, for the duration of a test."""
    folder = tmp_path / "site"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_download_names_the_whole_file_and_reports_progress(served, tmp_path):
    folder, url = served
    payload = bytes(range(256)) * 12_000  # 3 MB: several chunks
    (folder / "weights.bin").write_bytes(payload)
    target = tmp_path / "cache" / "weights.bin"
    target.parent.mkdir()
    seen = []
    download(f"{url}/weights.bin", target, lambda done, total: seen.append((done, total)))
    assert target.read_bytes() == payload
    assert seen[-1] == (len(payload), len(payload))
    assert [entry.name for entry in target.parent.iterdir()] == ["weights.bin"]


def test_a_refused_download_leaves_nothing(served, tmp_path):
    folder, url = served
    (folder / "weights.bin").write_bytes(b"not a checkpoint")
    target = tmp_path / "weights.bin"

    def refuse(path):
        raise ValueError(f"{path.name} is not a checkpoint")

    with pytest.raises(ValueError):
        download(f"{url}/weights.bin", target, check=refuse)
    assert list(tmp_path.iterdir()) == [folder]
