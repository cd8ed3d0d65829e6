"""Directory migration 0005: a county bootstrapped before it keeps the years it loaded whole from the
official data; a year with hand-entered days only is not loaded until an admin declares it complete."""
from alembic import command
from sqlalchemy import create_engine, text

from shared.migrate import alembic_config


def test_years_loaded_from_the_official_data_stay_loaded_and_hand_entered_ones_do_not(tmp_path):
    url = f"sqlite:///{tmp_path}/directory.db"
    command.upgrade(alembic_config("directory", url), "0004")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO counties (code, name, version, updated_at) "
                          "VALUES ('431099', '清水县', 1, '2026-11-01 00:00:00+00:00')"))
        for day, source in (("2025-01-01", "official"), ("2026-10-01", "official"), ("2027-01-01", "official"),
                            ("2026-12-01", "local")):
            conn.execute(text("INSERT INTO calendar_days (county_code, day, kind, name, source, updated_at) "
                              "VALUES ('431099', :day, 'holiday', '节', :source, '2026-11-01 00:00:00+00:00')"),
                         {"day": day, "source": source})
    command.upgrade(alembic_config("directory", url), "head")
    with engine.connect() as conn:
        loaded = conn.execute(text("SELECT year, basis, completed_by FROM calendar_years ORDER BY year")).all()
    engine.dispose()
    assert loaded == [(2025, "official_data", "chinesecalendar"), (2026, "official_data", "chinesecalendar")]
