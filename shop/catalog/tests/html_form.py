"""The fields a browser would post from a form on a page: for tests that save admin forms the
way a staff member does, with exactly what the page rendered (hidden inputs included)."""

from html.parser import HTMLParser


class _FormFields(HTMLParser):
    def __init__(self, form_id):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fields = {}
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        if not self.inside:
            return
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button", "file", "image"):
            if attrs.get("type") not in ("checkbox", "radio") or "checked" in attrs:
                self.fields[name] = attrs.get("value", "on" if attrs.get("type") == "checkbox" else "")
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in attrs:
            self.fields[self._select] = attrs.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            # Browsers drop the newline that may follow <textarea>.
            first = not self.fields[self._textarea]
            self.fields[self._textarea] += data.removeprefix("\n") if first else data


def form_fields(html, form_id):
    """{name: value} of the form ``form_id`` in ``html``, as a browser would submit it unchanged."""
    parser = _FormFields(form_id)
    parser.feed(html)
    assert parser.fields, f"no form with id={form_id!r} on the page"
    return parser.fields
