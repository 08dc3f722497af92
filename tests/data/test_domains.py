from minutes.data.domains import domain_of


def test_domains_by_meeting_id():
    assert [domain_of(m) for m in ("ES2002a", "IS1000b", "TS3003c")] == ["Product"] * 3
    assert [domain_of(m) for m in ("Bed004", "Bmr013", "Bro018", "Bdb001", "Buw001")] == ["Academic"] * 5
    assert [domain_of(m) for m in ("covid_0", "education_11")] == ["Committee"] * 2
