"""Each supported type becomes blocks with heading paths; unreadable input names its reason."""
import pytest

from tianshu_rag.ingestion.parsing import Block, UnreadableDocument, parse


def test_html_headings_become_heading_paths_and_scripts_are_dropped():
    html = """<html><head><title>t</title><script>var x = 1;</script></head><body>
      <h1>Manual</h1><p>Welcome <b>reader</b>.</p>
      <h2>Setup</h2><ul><li>Step one</li><li>Step two</li></ul>
      <table><tr><th>Key</th><th>Value</th></tr><tr><td>port</td><td>50052</td></tr></table>
    </body></html>"""
    assert parse(html.encode(), "text/html; charset=utf-8") == [
        Block(("Manual",), "Welcome reader ."),
        Block(("Manual", "Setup"), "Step one"),
        Block(("Manual", "Setup"), "Step two"),
        Block(("Manual", "Setup"), "Key | Value"),
        Block(("Manual", "Setup"), "port | 50052"),
    ]


def test_markdown_lists_tables_and_code_are_kept_as_blocks():
    md = "# A\n\n- one\n- two\n\n| k | v |\n|---|---|\n| x | 1 |\n\n```\ncode here\n```\n"
    assert [b.text for b in parse(md.encode(), "text/markdown")] == ["- one", "- two", "k | v", "x | 1", "code here"]


def test_pdf_text_is_extracted(minimal_pdf):
    blocks = parse(minimal_pdf(["Tianshu stores vectors in PostgreSQL.", "Second line."]), "application/pdf")
    assert "Tianshu stores vectors in PostgreSQL." in " ".join(b.text for b in blocks)


@pytest.mark.parametrize("content, content_type, reason", [
    (b"%PDF-1.4\n garbage that is not a pdf", "application/pdf", "corrupt PDF"),
    (b"\xff\xfe\x00 not utf-8", "text/plain", "not valid UTF-8"),
    (b"GIF89a", "image/gif", "unsupported content type 'image/gif'"),
    (b"   \n\n  ", "text/plain", "no text"),
    (b"<html><script>only()</script></html>", "text/html", "no text"),
])
def test_unreadable_documents_are_refused_with_the_reason(content, content_type, reason):
    with pytest.raises(UnreadableDocument, match=reason):
        parse(content, content_type)
