"""``soar demo``'s failure path: a failed run's scratch directory outlives the next run, and its trouble is shown."""

from __future__ import annotations

from pathlib import Path

from soar.demo.run import keep_failed


def test_failed_demo_keeps_its_logs_and_shows_their_trouble(tmp_path: Path) -> None:
    data = tmp_path / ".demo"
    (data / "logs").mkdir(parents=True)
    (data / "soar.db").write_bytes(b"sqlite")
    (data / "logs" / "worker.log").write_text(
        "\n".join(
            [
                *(f"info line {i}" for i in range(30)),
                "WARNING consumer group join took 9.1 s",
                *(f"error {i}" for i in range(20)),
            ]
        )
        + "\n"
    )
    (data / "logs" / "api.log").write_text("all quiet\n")
    kept, trouble = keep_failed(data, lines=5)
    assert kept.parent == tmp_path and kept.name.startswith(".demo-failed-")
    assert (kept / "soar.db").read_bytes() == b"sqlite" and (kept / "logs" / "api.log").is_file()
    assert trouble == {"worker.log": [f"error {i}" for i in range(15, 20)]}  # the last ones; quiet logs left out
    # the next run wipes its scratch directory, not the kept copy
    import shutil

    shutil.rmtree(data)
    assert (kept / "logs" / "worker.log").is_file()
