package textsafe

import "testing"

func TestClean(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "Soba je bila prljava.", "Soba je bila prljava."},
		{"keeps newline and tab", "a\n\tb", "a\n\tb"},
		{"CSI colour and clear", "\x1b[2J\x1b[31mred\x1b[0m", "red"},
		{"CSI private mode", "a\x1b[?1049hb", "ab"},
		{"OSC title BEL", "\x1b]0;pwned\x07ok", "ok"},
		{"OSC hyperlink ST", "\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\", "click"},
		{"unterminated OSC keeps text", "\x1b]0;still here", "0;still here"},
		{"two-byte ESC", "a\x1bcb\x1b7c", "abc"},
		{"charset designation", "a\x1b(Bb", "ab"},
		{"lone ESC at end", "abc\x1b", "abc"},
		{"C1 CSI", "a\u009b2Jb", "ab"},
		{"C1 OSC", "a\u009d0;t\u009cb", "ab"},
		{"other C0 and DEL", "a\x00\x07\x08\x7fb", "ab"},
		{"other C1", "a\u0080\u008db", "ab"},
		{"CRLF and lone CR", "a\r\nb\rc", "a\nb\nc"},
		{"NEL LS PS", "a\u0085b\u2028c\u2029d", "a\nb\nc\nd"},
		{"bidi overrides", "abc\u202edcba\u202c \u2066x\u2069", "abcdcba x"},
		{"bidi marks kept", "\u200fשלום\u200e", "\u200fשלום\u200e"},
		{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
		{"raw 0x9b byte", "a\x9b2Jb", "a\uFFFD2Jb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Clean(tt.in); got != tt.want {
				t.Errorf("Clean(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Zagreb", "Zagreb"},
		{"Zagreb\r\nAcknowledge: http://evil", "Zagreb Acknowledge: http://evil"},
		{"\x1b[31m  red \t  text\x1b[0m ", "red text"},
		{"a\u2028b", "a b"},
	}
	for _, tt := range tests {
		if got := Line(tt.in); got != tt.want {
			t.Errorf("Line(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestQuote(t *testing.T) {
	tests := []struct{ name, in, prefix, want string }{
		{"one line", "bad", "> ", "> bad"},
		{"planted line", "bad\nAcknowledge: http://evil", "> ", "> bad\n> Acknowledge: http://evil"},
		{"CR planted line", "bad\rResolve: http://evil", "> ", "> bad\n> Resolve: http://evil"},
		{"blank lines", "a\n\nb\n", "> ", "> a\n>\n> b"},
		{"empty", "", "> ", ""},
		{"escapes", "\x1b[2Ja\x1b]0;t\x07", "  > ", "  > a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Quote(tt.in, tt.prefix); got != tt.want {
				t.Errorf("Quote(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
