"""What a corrected number's check says, wherever the number goes.

Apart from :mod:`archive.publish.review` (which writes and republishes) so that
:mod:`archive.publish.marks`, which every number's check comes from, can say it without
importing the writing side (which imports the wide tables, which import the marks).
"""

from __future__ import annotations

from archive.store.reviews import Correction


def shown(value: float | int | None) -> str:
    """A value as a check names it: 1,234; 3 for 3.0; 空白 for a blank."""
    if value is None:
        return "空白"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}"


def _parsed(read: bool | None, value: float | int | None) -> str:
    return shown(value) if read else "未读出"


def correction_text(correction: Correction) -> str:
    """``校正：原件为 3，解析为 0（张三 2026-12-08：…）`` — or, stale,
    ``校正待复核：张三核对原件为 3（当时解析为 0），现解析为 5，未采用``."""
    who = f"{correction.reviewer} {correction.corrected_at[:10]}"
    note = f"：{correction.note}" if correction.note else ""
    if correction.stale:
        return (
            f"校正待复核：{who}核对原件为 {shown(correction.value)}"
            f"（当时解析为 {_parsed(correction.parsed_read, correction.parsed_value)}{note}），"
            f"现解析为 {_parsed(correction.current_read, correction.current_value)}，未采用"
        )
    if correction.current_read and correction.current_value == correction.value:
        return (
            f"校正：原件为 {shown(correction.value)}，现解析一致"
            f"（当时解析为 {_parsed(correction.parsed_read, correction.parsed_value)}；"
            f"{who}{note}）"
        )
    return (
        f"校正：原件为 {shown(correction.value)}，"
        f"解析为 {_parsed(correction.parsed_read, correction.parsed_value)}（{who}{note}）"
    )


def parts_text(count: int) -> str:
    """A sum some of whose parts a person corrected."""
    return f"校正：其中 {count} 项经人工校正"
