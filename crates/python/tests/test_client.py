"""The course's client contract (../shared/PROTOCOL.md, "The client") for
the `eardrum` package: against a real server, and against scripted servers
for the replies a real one never sends."""

import socket
import threading
import time

import pytest

from eardrum import Client, ClientError


def test_course_code_runs_unchanged(server):
    # As the course's own check script uses its client.
    host, port = server
    client = Client(host, port, timeout=15)
    client.put("course.palm.cpu", 0.5, timestamp=1150864247)
    client.put("course.palm.cpu", 2.0, timestamp=1150864248)
    client.put("course.palm.cpu", 0.5, timestamp=1150864248)
    client.put("course.eardrum.cpu", 3, timestamp=1150864250)
    client.put("course.eardrum.cpu", 4, timestamp=1150864251)
    client.put("course.eardrum.memory", 4200000)
    assert client.get("course.palm.cpu") == {"course.palm.cpu": [(1150864247, 0.5), (1150864248, 0.5)]}
    assert client.get("course.missing") == {}
    everything = client.get("*")
    mine = {key: points for key, points in everything.items() if key.startswith("course.")}
    assert list(mine) == ["course.palm.cpu", "course.eardrum.cpu", "course.eardrum.memory"]
    assert mine["course.eardrum.cpu"] == [(1150864250, 3.0), (1150864251, 4.0)]


def test_values_are_floats_timestamps_ints_in_ascending_order(server):
    client = Client(*server)
    for timestamp in (30, 10, 20):
        client.put("types.key", timestamp / 10, timestamp)
    points = client.get("types.key")["types.key"]
    assert points == [(10, 1.0), (20, 2.0), (30, 3.0)]
    assert all(type(t) is int and type(v) is float for t, v in points)
    client.put("types.special", float("inf"), 1)
    client.put("types.special", float("-inf"), 2)
    client.put("types.special", float("nan"), 3)
    special = client.get("types.special")["types.special"]
    assert special[:2] == [(1, float("inf")), (2, float("-inf"))]
    assert special[2][1] != special[2][1]  # NaN


def test_put_without_a_timestamp_uses_now_in_whole_seconds(server):
    client = Client(*server)
    before = int(time.time())
    client.put("now.key", 1.5)
    after = int(time.time())
    [(timestamp, value)] = client.get("now.key")["now.key"]
    assert before <= timestamp <= after and value == 1.5


def test_one_connection_is_kept_for_every_request(server):
    client = Client(*server)
    for i in range(200):
        client.put("kept.key", i, i)
    assert len(client.get("kept.key")["kept.key"]) == 200


def test_arguments_the_server_cannot_take_are_client_errors(server):
    client = Client(*server)
    for key in ("with space", "", "new\nline"):
        with pytest.raises(ClientError):
            client.put(key, 1.0, 1)
    with pytest.raises(ClientError):
        client.put("k", "not a number", 1)
    with pytest.raises(ClientError):
        client.put("k", 1.0, 1.5)
    with pytest.raises(ClientError):
        client.get("two words")
    # The connection is still good after refusing them.
    client.put("still.good", 1.0, 1)
    assert client.get("still.good") == {"still.good": [(1, 1.0)]}


def test_a_refused_connection_is_a_client_error():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    with pytest.raises(ClientError):
        Client("127.0.0.1", port, timeout=2)
    with pytest.raises(ValueError):
        Client("127.0.0.1", port, timeout=-1)


class Scripted:
    """A server that answers each request line with the next scripted
    reply (None: say nothing; b"": close the connection)."""

    def __init__(self, replies):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.replies = list(replies)
        self.requests = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        connection, _ = self.listener.accept()
        with connection:
            buffered = b""
            for reply in self.replies:
                while b"\n" not in buffered:
                    data = connection.recv(4096)
                    if not data:
                        return
                    buffered += data
                line, buffered = buffered.split(b"\n", 1)
                self.requests.append(line)
                if reply is None:
                    time.sleep(5)
                    return
                if reply == b"":
                    return
                connection.sendall(reply)
            time.sleep(1)

    def requests_after(self, count):
        """The requests, once `count` have arrived (or after 3 s): a reply
        scripted ahead lets the client finish before this thread reads its
        request."""
        deadline = time.monotonic() + 3
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.requests


@pytest.mark.parametrize(
    "reply",
    [
        b"error\nwrong command\n\n",
        b"ok\nkey 1.0\n\n",
        b"ok\nkey 1.0 1 extra\n\n",
        b"ok\nkey one 1\n\n",
        b"ok\nkey 1.0 1.5\n\n",
        b"ok\nkey 1.0 1\n",
        b"",
    ],
    ids=["error", "two-words", "four-words", "bad-value", "bad-timestamp", "unfinished", "closed"],
)
def test_malformed_or_failed_replies_are_client_errors_and_give_no_data(reply):
    server = Scripted([reply])
    client = Client("127.0.0.1", server.port, timeout=3)
    with pytest.raises(ClientError):
        client.get("key")


def test_a_reply_that_never_comes_times_out():
    server = Scripted([None])
    client = Client("127.0.0.1", server.port, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ClientError):
        client.put("key", 1.0, 1)
    assert time.monotonic() - started < 3


def test_the_client_reads_each_reply_to_its_empty_line_and_no_further():
    server = Scripted([b"ok\n\nok\na 1.0 1\n\n", None])
    client = Client("127.0.0.1", server.port, timeout=3)
    client.put("a", 1.0, 1)
    assert client.get("a") == {"a": [(1, 1.0)]}
    assert server.requests_after(2) == [b"put a 1.0 1", b"get a"]


def test_put_is_exactly_ok_and_an_error_reply_raises():
    server = Scripted([b"ok\n\n", b"error\nwrong command\n\n", b"ok\nextra 1.0 1\n\n"])
    client = Client("127.0.0.1", server.port, timeout=3)
    client.put("a", 1.0, 1)
    with pytest.raises(ClientError):
        client.put("a", 1.0, 1)
    with pytest.raises(ClientError):
        client.put("a", 1.0, 1)


def test_closing_and_context_manager():
    server = Scripted([b"ok\n\n"])
    with Client("127.0.0.1", server.port) as client:
        client.put("a", 1.0, 1)
        assert "open" in repr(client)
    assert "closed" in repr(client)
    with pytest.raises(ClientError):
        client.put("a", 1.0, 1)


def test_docstrings_describe_the_api():
    import eardrum

    assert "timeout" in Client.__doc__
    assert "timestamp" in Client.put.__doc__
    assert "dict" in Client.get.__doc__
    assert issubclass(ClientError, Exception)
    assert eardrum.__version__
