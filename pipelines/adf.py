"""Atlassian Document Format (Jira Cloud rich text) to plain text.

Block nodes end with a newline, list items get "- ", hard breaks become newlines, and @mentions become
"@user" so that no person's name survives the conversion."""

from __future__ import annotations

from typing import Any

_BLOCKS = {"paragraph", "heading", "blockquote", "codeBlock", "rule", "panel", "tableRow", "mediaSingle"}


def adf_to_text(node: Any) -> str | None:
    """Plain text of an ADF document; strings pass through; None and empty documents give None."""
    if node is None:
        return None
    if isinstance(node, str):
        return node.strip() or None
    parts: list[str] = []
    _walk(node, parts, depth=0)
    text = "".join(parts)
    lines = [line.rstrip() for line in text.splitlines()]
    text = "\n".join(line for line in lines if line.strip()).strip()
    return text or None


def _walk(node: Any, out: list[str], depth: int) -> None:
    if isinstance(node, list):
        for child in node:
            _walk(child, out, depth)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if kind == "text":
        out.append(node.get("text", ""))
    elif kind == "mention":
        out.append("@user")
    elif kind in ("emoji",):
        out.append(node.get("attrs", {}).get("text", ""))
    elif kind == "hardBreak":
        out.append("\n")
    elif kind == "inlineCard":
        out.append(node.get("attrs", {}).get("url", ""))
    elif kind == "listItem":
        out.append("  " * depth + "- ")
        _walk(node.get("content", []), out, depth + 1)
    elif kind in ("bulletList", "orderedList"):
        _walk(node.get("content", []), out, depth)
    elif kind == "tableCell" or kind == "tableHeader":
        _walk(node.get("content", []), out, depth)
        out.append(" | ")
    else:
        _walk(node.get("content", []), out, depth)
        if kind in _BLOCKS:
            out.append("\n")
