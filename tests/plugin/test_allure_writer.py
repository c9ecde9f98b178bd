"""The redacting writer on its own: what it writes for each kind of file allure hands it."""
from __future__ import annotations

import json

from allure_commons import model2

from pytest_cloudjob.redaction import register_secret
from pytest_cloudjob.reporting.allure_writer import RedactingFileLogger

SECRET = "tok-writer-secret-31f0c9"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + SECRET.encode() + b"\xff\xfe"  # not UTF-8: left byte for byte


def test_results_stay_valid_json_with_every_string_masked(tmp_path):
    register_secret(SECRET)
    writer = RedactingFileLogger(tmp_path)
    writer.report_result(model2.TestResult(uuid="u-1", name=f"test with {SECRET}", status="failed",
                                    statusDetails=model2.StatusDetails(message=f'said "Bearer {SECRET}"', trace=SECRET)))
    [path] = tmp_path.glob("*-result.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["name"] == "test with ***" and data["statusDetails"] == {"message": 'said "Bearer ***"', "trace": "***"}
    assert not list(tmp_path.glob("*.tmp"))


def test_text_attachments_are_masked_and_binary_ones_copied_unchanged(tmp_path):
    register_secret(SECRET)
    out, source_dir = tmp_path / "out", tmp_path / "src"
    source_dir.mkdir()
    writer = RedactingFileLogger(out)
    writer.report_attached_data(body=f"log line with {SECRET}", file_name="a-attachment.txt")
    writer.report_attached_data(body=f"bytes with {SECRET}".encode(), file_name="b-attachment.txt")
    (source_dir / "evidence.json").write_text(json.dumps({"token": SECRET}), encoding="utf-8")
    writer.report_attached_file(source=source_dir / "evidence.json", file_name="c-attachment.json")
    (source_dir / "shot.png").write_bytes(PNG)
    writer.report_attached_file(source=source_dir / "shot.png", file_name="d-attachment.png")

    assert (out / "a-attachment.txt").read_text() == "log line with ***"
    assert (out / "b-attachment.txt").read_text() == "bytes with ***"
    assert json.loads((out / "c-attachment.json").read_text()) == {"token": "***"}
    assert (out / "d-attachment.png").read_bytes() == PNG
    assert SECRET in (source_dir / "evidence.json").read_text(), "the user's own file is never changed"


def test_a_write_the_disk_refuses_is_counted_never_raised(tmp_path):
    out = tmp_path / "out"
    writer = RedactingFileLogger(out)
    writer.report_attached_data(body="kept", file_name="a-attachment.txt")
    out.joinpath("a-attachment.txt").unlink()
    out.rmdir()
    out.write_text("the folder was replaced by a file")  # every later write now fails with ENOTDIR
    writer.report_attached_data(body="lost", file_name="b-attachment.txt")
    writer.report_result(model2.TestResult(uuid="u-2", name="lost too", status="passed"))
    source = tmp_path / "evidence.png"
    source.write_bytes(PNG)
    writer.report_attached_file(source=source, file_name="c-attachment.png")
    assert (writer.lost.count, writer.lost.reason) == (3, "Not a directory (ENOTDIR)")
    assert "3 file(s) could not be written to" in (writer.lost.warning() or "")
