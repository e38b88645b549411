"""Starts a real eardrum server for the tests: the binary in EARDRUM_BIN
(crates/cli/tests/python.rs passes the one cargo built), on a port the
system picks, with its data in a temporary folder."""

import os
import re
import subprocess
import tempfile

import pytest


@pytest.fixture(scope="session")
def server():
    binary = os.environ.get("EARDRUM_BIN")
    if not binary:
        pytest.fail("set EARDRUM_BIN to the eardrum binary (cargo test runs this suite with it set)")
    with tempfile.TemporaryDirectory() as data:
        process = subprocess.Popen(
            [binary, "serve", "--port", "0", "--http-port", "0", "--graphite-port", "0", "--data-dir", data],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            for line in process.stderr:
                found = re.search(r"addr=127\.0\.0\.1:(\d+)", line)
                if found:
                    break
            else:
                pytest.fail("the server did not start")
            yield ("127.0.0.1", int(found.group(1)))
        finally:
            process.terminate()
            process.wait(timeout=10)
