// PIM: runs before the page is drawn (no defer) so that styles for scripted pages apply at once:
// the header menu starts folded on a phone only where pim.js can unfold it.
document.documentElement.classList.add("js");
