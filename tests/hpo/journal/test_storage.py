"""The storage contract, run over every storage, plus journal crash-recovery cases."""

import json
import multiprocessing
import warnings

import pytest

from hpo import HPOWarning, JournalStorage, MemoryStorage, StorageError
from hpo.journal.events import SCHEMA_VERSION, decode_metrics, dumps, encode_metrics

HEADER = {"e": "study", "schema": SCHEMA_VERSION, "space": {"params": []}, "objective": {},
          "fidelity": None, "method": None, "seed": 1}
EVENTS = [
    {"e": "start", "t": 0, "cfg": {"x": 0.5}, "b": 1, "p": None, "ts": 1.0, "o": "h:1"},
    {"e": "report", "t": 0, "b": 1, "m": {"loss": 0.25}, "c": 0.1, "ts": 2.0, "v": "p",
     "r": "rung"},
    {"e": "resume", "t": 0, "b": 3, "ts": 3.0, "o": "h:1"},
    {"e": "report", "t": 0, "b": 3, "m": encode_metrics({"loss": float("nan")}), "c": 0.3,
     "v": "s"},
    {"e": "start", "t": 1, "cfg": {"x": 0.1}, "b": 1},
    {"e": "retire", "t": 1, "r": "not promoted"},
    {"e": "end", "t": 0, "s": "failed", "r": "Traceback ...", "ts": 4.0},
]


@pytest.fixture(params=["memory", "journal"])
def storage(request, tmp_path):
    return MemoryStorage() if request.param == "memory" else JournalStorage(tmp_path / "s")


def write(storage, events, durable=False):
    with storage.lock():
        storage.read_new()
        storage.append(events, durable=durable)


def test_round_trip_and_order(storage):
    write(storage, [HEADER])
    for event in EVENTS:
        write(storage, [event], durable=event["e"] == "end")
    other = storage if isinstance(storage, MemoryStorage) else JournalStorage(storage.directory)
    if other is storage:
        other._read = 0
    with other.lock():
        got = other.read_new()
    assert got == [HEADER, *EVENTS]
    assert decode_metrics(got[4]["m"])["loss"] != decode_metrics(got[4]["m"])["loss"]  # NaN


def test_read_new_is_incremental(storage):
    write(storage, [HEADER, EVENTS[0]])
    write(storage, [EVENTS[1]])
    with storage.lock():
        assert storage.read_new() == []


def test_append_requires_lock_and_catch_up(tmp_path):
    a = JournalStorage(tmp_path / "s")
    b = JournalStorage(tmp_path / "s")
    write(a, [HEADER])
    with pytest.raises(StorageError, match="outside lock"):
        a.append([EVENTS[0]])
    with b.lock():
        with pytest.raises(StorageError, match="another process appended"):
            b.append([EVENTS[0]])


def _appender(directory, worker, n):
    storage = JournalStorage(directory)
    for i in range(n):
        with storage.lock():
            storage.read_new()
            storage.append([{"e": "end", "t": worker * 10_000 + i, "s": "completed"}])


def test_two_processes_append_to_one_journal(tmp_path):
    directory = tmp_path / "shared"
    write(JournalStorage(directory), [HEADER])
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_appender, args=(directory, w, 300)) for w in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    lines = (directory / "journal.jsonl").read_bytes().splitlines()
    events = [json.loads(line) for line in lines]  # every line intact
    ids = [e["t"] for e in events[1:]]
    assert sorted(ids) == sorted([10_000 + i for i in range(300)] + [20_000 + i
                                                                      for i in range(300)])
    for w in (1, 2):  # each writer's events keep their order
        mine = [i for i in ids if i // 10_000 == w]
        assert mine == sorted(mine)


def test_torn_last_line_is_reported_and_repaired(tmp_path):
    directory = tmp_path / "s"
    write(JournalStorage(directory), [HEADER, EVENTS[0]])
    path = directory / "journal.jsonl"
    intact = path.read_bytes()
    with open(path, "ab") as fh:
        fh.write(dumps(EVENTS[1])[:25])  # a crash in the middle of a write
    reader = JournalStorage(directory, read_only=True)
    with pytest.warns(HPOWarning, match="incomplete last line"):
        assert reader.read_new() == [HEADER, EVENTS[0]]
    assert path.read_bytes() != intact  # read-only: left alone
    writer = JournalStorage(directory)
    with pytest.warns(HPOWarning, match="removing an incomplete last line"):
        with writer.lock():
            assert writer.read_new() == [HEADER, EVENTS[0]]
            writer.append([EVENTS[1]])
    assert path.read_bytes() == intact + dumps(EVENTS[1])


def test_corrupt_middle_line_names_its_line(tmp_path):
    directory = tmp_path / "s"
    directory.mkdir()
    (directory / "journal.jsonl").write_bytes(dumps(HEADER) + b"{not json\n" + dumps(EVENTS[0]))
    with pytest.raises(StorageError, match=r"journal.jsonl:2: corrupt journal line"):
        with JournalStorage(directory).lock():
            JournalStorage(directory).read_new()


@pytest.mark.parametrize("bad, match", [
    ({**HEADER, "schema": SCHEMA_VERSION + 1}, "schema version 2, but this scaletune reads"),
    ({"e": "start", "t": 0, "cfg": {}, "b": 1}, "first journal line must be a study header"),
])
def test_bad_header(tmp_path, bad, match):
    directory = tmp_path / "s"
    directory.mkdir()
    (directory / "journal.jsonl").write_bytes(dumps(bad))
    with pytest.raises(StorageError, match=match):
        JournalStorage(directory, read_only=True).read_new()


@pytest.mark.parametrize("bad, match", [
    ({"e": "start", "t": 0, "b": 1}, r"lacks field\(s\) \['cfg'\]"),
    ({"e": "end", "t": 0, "s": "completed", "extra": 1}, r"unknown field\(s\) \['extra'\]"),
    ({"e": "party", "t": 0}, "unknown event kind 'party'"),
])
def test_malformed_events_are_rejected(tmp_path, bad, match):
    directory = tmp_path / "s"
    directory.mkdir()
    (directory / "journal.jsonl").write_bytes(dumps(HEADER) + dumps(bad))
    with pytest.raises(StorageError, match=match):
        JournalStorage(directory, read_only=True).read_new()


def test_missing_journal_read_only(tmp_path):
    with pytest.raises(StorageError, match="no study journal"):
        JournalStorage(tmp_path / "none", read_only=True)


def test_journal_is_strict_json(tmp_path):
    directory = tmp_path / "s"
    write(JournalStorage(directory), [HEADER, EVENTS[3]])
    text = (directory / "journal.jsonl").read_text()
    assert "NaN" in text and "\"NaN\"" in text  # as a string: strict JSON
    for line in text.splitlines():
        json.loads(line, parse_constant=lambda c: pytest.fail(f"non-strict constant {c}"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        JournalStorage(directory, read_only=True).read_new()
