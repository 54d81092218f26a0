from ingest.ids import chunk_ids, source_key


def test_ids_are_deterministic_and_depend_on_source_and_content() -> None:
    a = chunk_ids("/docs/a.txt", ["one", "two"])
    assert a == chunk_ids("/docs/a.txt", ["one", "two"])
    assert a != chunk_ids("/docs/b.txt", ["one", "two"])
    assert a[0] != a[1]
    assert all(id_.startswith(source_key("/docs/a.txt")) for id_ in a)


def test_repeated_passages_in_one_file_get_distinct_ids() -> None:
    ids = chunk_ids("/docs/a.txt", ["same", "other", "same", "same"])
    assert len(set(ids)) == 4
    assert ids[2] == ids[0] + "-2" and ids[3] == ids[0] + "-3"
