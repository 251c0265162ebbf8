// Package themes holds opsui's colour themes (dark, light, high-contrast),
// the stable per-host colour, and the NO_COLOR rule. Only the ui package
// uses it.
package themes

import (
	"fmt"
	"hash/fnv"
	"image/color"
	"strings"

	"charm.land/lipgloss/v2"
)

// Theme is a named set of colours. Components derive their styles from it,
// so switching themes never means touching a component.
type Theme struct {
	Name   string
	Text   color.Color
	Muted  color.Color
	Accent color.Color
	OK     color.Color
	Warn   color.Color
	Error  color.Color
	Border color.Color
	// Hosts is the palette host names are hashed into.
	Hosts []color.Color
	// Plain is set when colour is off (NO_COLOR): styles render no colour,
	// so meaning must never hang on colour alone.
	Plain bool
}

func hex(s string) color.Color { return lipgloss.Color(s) }

// Dark suits dark terminal backgrounds (the default).
func Dark() Theme {
	return Theme{
		Name: "dark", Text: hex("#E4E4E4"), Muted: hex("#8A8A8A"), Accent: hex("#7AA2F7"),
		OK: hex("#9ECE6A"), Warn: hex("#E0AF68"), Error: hex("#F7768E"), Border: hex("#414868"),
		Hosts: []color.Color{hex("#7AA2F7"), hex("#9ECE6A"), hex("#E0AF68"), hex("#BB9AF7"), hex("#7DCFFF"),
			hex("#FF9E64"), hex("#73DACA"), hex("#F7768E"), hex("#C0CAF5"), hex("#B4F9F8")},
	}
}

// Light suits light backgrounds.
func Light() Theme {
	return Theme{
		Name: "light", Text: hex("#1F2328"), Muted: hex("#6E7781"), Accent: hex("#0550AE"),
		OK: hex("#116329"), Warn: hex("#7D4E00"), Error: hex("#CF222E"), Border: hex("#D0D7DE"),
		Hosts: []color.Color{hex("#0550AE"), hex("#116329"), hex("#7D4E00"), hex("#8250DF"), hex("#0A3069"),
			hex("#953800"), hex("#1B7C83"), hex("#CF222E"), hex("#57606A"), hex("#4D2D00")},
	}
}

// HighContrast uses the 16 basic ANSI colours at full strength, for low
// vision and for terminals with odd palettes.
func HighContrast() Theme {
	ansi := func(n int) color.Color { return lipgloss.ANSIColor(n) }
	return Theme{
		Name: "high-contrast", Text: ansi(15), Muted: ansi(7), Accent: ansi(14),
		OK: ansi(10), Warn: ansi(11), Error: ansi(9), Border: ansi(15),
		Hosts: []color.Color{ansi(14), ansi(10), ansi(11), ansi(13), ansi(12), ansi(9), ansi(15)},
	}
}

// Names lists the built-in themes.
func Names() []string { return []string{"dark", "light", "high-contrast"} }

// ByName returns a built-in theme.
func ByName(name string) (Theme, error) {
	switch name {
	case "", "dark":
		return Dark(), nil
	case "light":
		return Light(), nil
	case "high-contrast":
		return HighContrast(), nil
	}
	return Theme{}, fmt.Errorf("unknown theme %q (known: %s)", name, strings.Join(Names(), ", "))
}

// NoColor reports whether colour is turned off: NO_COLOR set to any
// non-empty value (https://no-color.org). getenv is os.Getenv in production.
// The colour-profile detection only honours boolean spellings, so opsui
// decides this itself.
func NoColor(getenv func(string) string) bool { return getenv("NO_COLOR") != "" }

// WithoutColor returns the theme with every colour removed.
func (t Theme) WithoutColor() Theme {
	none := lipgloss.NoColor{}
	return Theme{Name: t.Name, Text: none, Muted: none, Accent: none, OK: none, Warn: none,
		Error: none, Border: none, Hosts: []color.Color{none}, Plain: true}
}

// HostColor returns the colour of a host: its name hashed into the palette,
// so a host keeps its colour across runs and machines.
func (t Theme) HostColor(name string) color.Color {
	if len(t.Hosts) == 0 {
		return lipgloss.NoColor{}
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	return t.Hosts[h.Sum32()%uint32(len(t.Hosts))]
}
