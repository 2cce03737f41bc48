"""What an upload may be, in words and in bytes: the limits shown beside every file field, and the
check that a file's content is what its extension says (magic bytes through the `filetype`
library; text types must decode as text). tickets.services.validate_upload applies it to the
portal's form, the API and e-mail intake alike."""

import codecs
import re
from pathlib import PurePath

import filetype
from django.conf import settings
from django.utils.formats import number_format
from django.utils.html import avoid_wrapping
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from filetype.types.base import Type

# A program never gets this far (validate_upload refuses it first); this is about a document
# that lies about its kind (a PDF named .png, an archive named .txt).
TEXT_EXTENSIONS = frozenset({"txt", "log", "csv", "json", "xml", "eml"})
ZIP_FAMILY = frozenset({"zip", "docx", "xlsx", "pptx", "odt", "ods", "odp"})
COMPOUND_FAMILY = frozenset({"doc", "xls", "ppt", "cfb"})  # OLE2 compound files (and .msg)
# Extension -> what filetype may find in it. An extension not listed here (an admin may allow
# more in ATTACHMENT_ALLOWED_EXTENSIONS) has no expectation beyond "not a program".
EXPECTED = {
    "pdf": {"pdf"},
    "png": {"png"},
    "jpg": {"jpg"},
    "jpeg": {"jpg"},
    "gif": {"gif"},
    "webp": {"webp"},
    "zip": ZIP_FAMILY,
    "docx": {"docx", "zip"},
    "xlsx": {"xlsx", "zip"},
    "pptx": {"pptx", "zip"},
    "odt": {"odt", "zip"},
    "ods": {"ods", "zip"},
    "doc": COMPOUND_FAMILY,
    "xls": COMPOUND_FAMILY,
    "ppt": COMPOUND_FAMILY,
    "msg": COMPOUND_FAMILY,
}
# Images a browser may show inline (a preview): never SVG or anything that can carry script.
PREVIEW_TYPES = {"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}


def preview_key(ext: str) -> str | None:
    """The PREVIEW_TYPES key of an extension (jpeg -> jpg), or None when it is no image."""
    key = "jpg" if ext == "jpeg" else ext
    return key if key in PREVIEW_TYPES else None


def preview_content_type(name: str, fileobj) -> str | None:
    """The image type to serve a stored file inline as, or None (then it is only a download):
    its name must say png/jpeg/gif/webp and its first bytes must agree (files stored before
    uploads were sniffed are checked here again)."""
    key = preview_key(extension_of(name))
    if key is None or detected_kind(_head(fileobj)) != key:
        return None
    return PREVIEW_TYPES[key]


# In text: no C0 control character but tab, line feed, form feed, carriage return and escape
# (coloured logs); no DEL.
_TEXT_CONTROLS = "\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f"
_CONTROL_IN_TEXT = re.compile(f"[{_TEXT_CONTROLS}]")
_CONTROL_IN_BYTES = re.compile(f"[{_TEXT_CONTROLS}]".encode())
_CHUNK = 64 * 1024


class CompoundFile(Type):
    """An OLE2 compound file (Word/Excel/PowerPoint 97-2003, Outlook .msg) that filetype's own
    matchers do not name more precisely."""

    MIME = "application/x-ole-storage"
    EXTENSION = "cfb"

    def __init__(self):
        super().__init__(mime=self.MIME, extension=self.EXTENSION)

    def match(self, buf):
        return bytes(buf[:8]) == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


_COMPOUND = CompoundFile()


def extension_of(name) -> str:
    return PurePath(name or "").suffix.lower().lstrip(".")


def readable_size(size: int) -> str:
    """20971520 -> "20 MB", 1536 -> "1.5 KB" (decimal mark of the language), in binary units
    like Django's filesizeformat, without a trailing ",0"."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor:
            value = size / factor
            decimals = 0 if value == int(value) else 1
            return avoid_wrapping(f"{number_format(round(value, decimals), decimals)} {unit}")
    return avoid_wrapping(ngettext("%(size)d byte", "%(size)d bytes", size) % {"size": size})


def allowed_extensions() -> list[str]:
    return list(settings.ATTACHMENT_ALLOWED_EXTENSIONS)


def limits_text() -> str:
    """The sentence beside every file field."""
    return _("At most %(limit)s per file. Allowed: %(types)s.") % {
        "limit": readable_size(settings.ATTACHMENT_MAX_BYTES),
        "types": ", ".join(allowed_extensions()),
    }


def accept_attribute() -> str:
    """The file input's accept="…" (a hint for the browser's file picker, not a check)."""
    return ",".join(f".{ext}" for ext in allowed_extensions())


def _head(uploaded_file, size=8192) -> bytes:
    position = uploaded_file.tell() if hasattr(uploaded_file, "tell") else 0
    uploaded_file.seek(0)
    head = uploaded_file.read(size)
    uploaded_file.seek(position)
    return head


def detected_kind(head: bytes) -> str | None:
    """The extension filetype finds in the first bytes (None: no binary format recognised)."""
    kind = filetype.guess(head) or filetype.match(head, matchers=[_COMPOUND])
    return kind.extension if kind is not None else None


def _chunks(uploaded_file):
    uploaded_file.seek(0)
    while chunk := uploaded_file.read(_CHUNK):
        yield chunk


def _is_text(uploaded_file) -> bool:
    """UTF-8 (with or without BOM) or UTF-16 with a BOM without control characters, or else a
    legacy 8-bit text (Windows-1252, Latin-1) without them; read in chunks."""
    position = uploaded_file.tell() if hasattr(uploaded_file, "tell") else 0
    try:
        head = _head(uploaded_file, 2)
        utf16 = head in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
        decoder = codecs.getincrementaldecoder("utf-16" if utf16 else "utf-8-sig")()
        try:
            for chunk in _chunks(uploaded_file):
                if _CONTROL_IN_TEXT.search(decoder.decode(chunk)):
                    return False
            decoder.decode(b"", final=True)
            return True
        except UnicodeDecodeError:
            if utf16:
                return False
        return not any(_CONTROL_IN_BYTES.search(chunk) for chunk in _chunks(uploaded_file))
    finally:
        uploaded_file.seek(position)


def content_problem(uploaded_file) -> str | None:
    """Why the file's content does not fit its extension (None: it fits)."""
    ext = extension_of(uploaded_file.name)
    if ext in TEXT_EXTENSIONS:
        # Decoding decides: text may well start like a binary format ("ID3…", "MZ,…").
        if _is_text(uploaded_file):
            return None
        found = detected_kind(_head(uploaded_file))
        if found:
            return _("A “.%(ext)s” file must be text, but this file is a “.%(found)s” file.") % {
                "ext": ext,
                "found": found,
            }
        return _("A “.%(ext)s” file must be text, but this file holds binary data.") % {"ext": ext}
    found = detected_kind(_head(uploaded_file))
    expected = EXPECTED.get(ext)
    if expected is None or found in expected:
        return None
    if found:
        return _("This file is not a “.%(ext)s” file but a “.%(found)s” file.") % {
            "ext": ext,
            "found": found,
        }
    return _("This file is not a “.%(ext)s” file, whatever its name says.") % {"ext": ext}


# --- a refused upload, shown on the page the user came from --------------------------------------
# A refused file (too large, wrong type, a program) sends the browser back to the ticket page
# (post/redirect/get) with the error kept in the session until that page shows it beside the
# file field. Also for a body refused before it is read (pim.middleware).
_SESSION_KEY = "pim.upload_refused"


def remember_refusal(request, where: str, errors: list[str]) -> None:
    session = getattr(request, "session", None)
    if session is not None:
        session[_SESSION_KEY] = {"where": where, "errors": [str(e) for e in errors]}


def take_refusal(request, where: str) -> list[str]:
    """The errors remembered for `where` (a ticket number), once; [] when there are none."""
    session = getattr(request, "session", None)
    if session is None:
        return []
    stored = session.get(_SESSION_KEY)
    if not isinstance(stored, dict) or stored.get("where") != where:
        return []
    del session[_SESSION_KEY]
    return [e for e in stored.get("errors", []) if isinstance(e, str)]


def too_large_upload_message(length: int) -> str:
    return _("The upload is too large (%(size)s); a file may be at most %(limit)s.") % {
        "size": readable_size(length),
        "limit": readable_size(settings.ATTACHMENT_MAX_BYTES),
    }
