// Package gsm7 implements the GSM 7-bit default alphabet and its extension
// table (3GPP TS 23.038 §6.2.1 and §6.2.1.1), and the packing of septets into
// octets (TS 23.038 §6.1.2.1).
//
// Text is converted in two steps: Encode maps UTF-8 text to unpacked septets
// (one septet per byte, extension characters as the escape 0x1B followed by
// their code) and Pack packs septets into octets as carried in TP-User-Data.
// Unpack and Decode do the reverse.
//
// # Padding with CR
//
// TS 23.038 §6.1.2.3.1 says that when a packed message leaves 7 spare bits in
// its last octet, those bits are filled with <CR>, so that a receiver that
// only knows the length in octets does not see a spurious '@' (code 0x00).
// In SMS the TP-User-Data-Length counts septets, so that rule is not needed:
// Pack always fills spare bits with zeros and Unpack takes the septet count.
// For octet-framed contexts (USSD, cell broadcast) PackPadded applies the rule
// and UnpackPadded removes such a padding <CR>. A message that truly ends in
// <CR> on an octet boundary gets a second <CR> from PackPadded, as the
// specification asks, so UnpackPadded keeps the wanted one.
package gsm7
