package gsm7

// Escape is the septet that switches to the extension table for the
// next septet (TS 23.038 §6.2.1, code 0x1B).
const Escape = 0x1B

// defaultTable maps each septet of the default alphabet to its character.
// Entry 0x1B is the escape; it decodes on its own as a space (see Decode).
var defaultTable = [128]rune{
	'@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å',
	'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', ' ', 'Æ', 'æ', 'ß', 'É',
	' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
	'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
	'¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
	'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§',
	'¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à',
}

// extensionTable maps the codes of the extension table that have a character
// (TS 23.038 §6.2.1.1) to it. 0x0A is the page break, mapped to form feed.
var extensionTable = map[byte]rune{
	0x0A: '\f',
	0x14: '^',
	0x28: '{',
	0x29: '}',
	0x2F: '\\',
	0x3C: '[',
	0x3D: '~',
	0x3E: ']',
	0x40: '|',
	0x65: '€',
}

// encodeDefault and encodeExtension are the reverse maps, built at init;
// encodeFast caches both for runes below fastLimit (all of the default
// table but '€'): 0 means not encodable, else the septet count<<8 | code.
var (
	encodeDefault   = make(map[rune]byte, 128)
	encodeExtension = make(map[rune]byte, len(extensionTable))
	encodeFast      [fastLimit]uint16
)

const fastLimit = 0x400

func init() {
	for code, r := range defaultTable {
		if code == Escape {
			continue // the escape is not a character; ' ' is 0x20
		}
		encodeDefault[r] = byte(code)
		if r < fastLimit {
			encodeFast[r] = 1<<8 | uint16(code)
		}
	}
	for code, r := range extensionTable {
		encodeExtension[r] = code
		if r < fastLimit {
			encodeFast[r] = 2<<8 | uint16(code)
		}
	}
}
