"""Small previews of image attachments (issue 15, build item 4): the ticket page shows a real
thumbnail, not the full upload scaled down by CSS.

An upload is untrusted input for a C decoder, so a thumbnail is made only when the name and the
first bytes agree (pim.uploads.preview_content_type), Pillow may only read the format the name
says, the image is at most MAX_PIXELS once decoded (a JPEG decodes at a reduced scale, see
Image.draft) and at most Image.MAX_IMAGE_PIXELS by its header (where Pillow would only warn of a
decompression bomb; above twice as many it refuses by itself); a truncated or corrupt file
simply gives no thumbnail. The result (fit within BOUND, never upscaled, turned as its EXIF
orientation says, without any metadata) is cached with its size, and so is "no thumbnail", so a
ticket page with ten images decodes each image once, not on every view.
"""

import io
import logging
from dataclasses import asdict, dataclass

from django.core.cache import cache
from PIL import Image, ImageOps, features

from . import uploads

log = logging.getLogger(__name__)

BOUND = (320, 320)
# Decoded pixels at most (after a JPEG's reduced-scale decoding): 40 MP is about 160 MB as RGBA.
MAX_PIXELS = 40_000_000
CACHE_SECONDS = 7 * 24 * 3600
# Bump when the output changes (size, format, quality): old entries are then never read again.
VERSION = 1
_PIL_FORMATS = {"png": "PNG", "jpg": "JPEG", "gif": "GIF", "webp": "WEBP"}
_NONE = "none"  # cached for a file that gives no thumbnail
# WebP: small, with transparency, shown by every browser PIM supports. A Pillow built without
# it writes JPEG, or PNG for an image with transparency.
WEBP = features.check("webp")


@dataclass(frozen=True)
class Thumbnail:
    content: bytes
    content_type: str
    width: int
    height: int


def _key(pk, name) -> str:
    return f"pim:thumbnail:v{VERSION}:{pk}:{name}"


def _size_key(pk, name) -> str:
    return f"{_key(pk, name)}:size"


def thumbnail_for(pk, name, original_name, open_file) -> Thumbnail | None:
    """The thumbnail of a stored image (`pk` and its storage `name` key the cache; `open_file()`
    opens it for reading), or None when it cannot have one. Decoded once, then cached."""
    key = _key(pk, name)
    cached = cache.get(key)
    if cached == _NONE:
        return None
    if isinstance(cached, dict):
        return Thumbnail(**cached)
    try:
        fileobj = open_file()
    except OSError:
        log.warning("thumbnail: attachment %s cannot be opened", pk)
        return None  # not cached: the storage may be back on the next request
    with fileobj:
        thumbnail = None
        if uploads.preview_content_type(original_name, fileobj):
            thumbnail = render(fileobj, uploads.preview_key(uploads.extension_of(original_name)))
    if thumbnail is None:
        cache.set(key, _NONE, CACHE_SECONDS)
        return None
    cache.set_many(
        {key: asdict(thumbnail), _size_key(pk, name): (thumbnail.width, thumbnail.height)},
        CACHE_SECONDS,
    )
    return thumbnail


def known_sizes(stored) -> dict:
    """{pk: (width, height)} of the thumbnails already made, for [(pk, name), …]: one cache
    read, no file opened (the ticket page's <img width height>)."""
    keys = {_size_key(pk, name): pk for pk, name in stored}
    found = cache.get_many(list(keys)) if keys else {}
    return {keys[key]: tuple(size) for key, size in found.items()}


def forget(pk, name) -> None:
    """Drop a thumbnail from the cache (its attachment is deleted)."""
    cache.delete_many([_key(pk, name), _size_key(pk, name)])


def render(fileobj, kind: str) -> Thumbnail | None:
    """Make the thumbnail of an image of `kind` (a pim.uploads.PREVIEW_TYPES key), or None."""
    fileobj.seek(0)
    try:
        # Image.open reads the header only; it refuses (DecompressionBombError) an image of
        # more than twice Image.MAX_IMAGE_PIXELS, and only warns above it: _shrink refuses that.
        with Image.open(fileobj, formats=[_PIL_FORMATS[kind]]) as image:
            return _shrink(image)
    except Exception as exc:  # untrusted bytes: whatever the decoder raises means "no preview"
        log.info("thumbnail: no preview of a %s image: %r", kind, exc)
        return None


def _shrink(image) -> Thumbnail | None:
    width, height = image.size
    image.draft(None, (BOUND[0] * 2, BOUND[1] * 2))  # a JPEG decodes at 1/2…1/8 scale
    if width * height > Image.MAX_IMAGE_PIXELS or image.width * image.height > MAX_PIXELS:
        log.info("thumbnail: %d×%d pixels is too many to decode", width, height)
        return None
    transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    mode = "RGBA" if transparent else "RGB"
    # Converted (CMYK, 16-bit, palettes…) only when needed: no second full-size copy.
    frame = image if image.mode == mode else image.convert(mode)
    frame.thumbnail(BOUND, Image.Resampling.LANCZOS)  # keeps the aspect, never enlarges
    frame = ImageOps.exif_transpose(frame)  # the small copy keeps the original's EXIF and XMP
    frame.info = {}  # and nothing of it leaves: no EXIF (GPS), ICC profile, XMP or text
    out = io.BytesIO()
    if WEBP:
        frame.save(out, "WEBP", quality=80, method=4)
        content_type = "image/webp"
    elif transparent:
        frame.save(out, "PNG", optimize=True)
        content_type = "image/png"
    else:
        frame.save(out, "JPEG", quality=82, optimize=True)
        content_type = "image/jpeg"
    return Thumbnail(out.getvalue(), content_type, frame.width, frame.height)
