package server

import (
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/statusd/statusd/data"
)

// MinAccentContrast is the contrast ratio against white an accent colour
// needs: links and the header's rule are drawn in it on the light theme's
// white, and WCAG 2 AA asks 4.5:1 for text.
const MinAccentContrast = 4.5

var accentPattern = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// CheckAccentColor returns hex in lower case if it can be the page's accent
// colour: "#rrggbb" with a contrast ratio of at least MinAccentContrast
// against white. Otherwise the error is a *data.InvalidError for field
// "accent_color" whose reason says why.
func CheckAccentColor(hex string) (string, error) {
	if !accentPattern.MatchString(hex) {
		return "", data.Invalid("accent_color", "%q is not a colour in the form #rrggbb", hex)
	}
	if r := ContrastWithWhite(hex); r < MinAccentContrast {
		return "", data.Invalid("accent_color", "%q has a contrast ratio of %.2f:1 against white; at least %g:1 is needed for text and links (WCAG 2 AA)",
			hex, math.Floor(r*100)/100, MinAccentContrast)
	}
	return strings.ToLower(hex), nil
}

// ContrastWithWhite returns the WCAG 2 contrast ratio of "#rrggbb" against
// white: (1 + 0.05) / (L + 0.05) with L its relative luminance. It returns 0
// for anything but "#rrggbb".
func ContrastWithWhite(hex string) float64 {
	if !accentPattern.MatchString(hex) {
		return 0
	}
	v, _ := strconv.ParseUint(hex[1:], 16, 32) // checked by accentPattern
	lin := func(c uint64) float64 {
		s := float64(c) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	l := 0.2126*lin(v>>16&0xff) + 0.7152*lin(v>>8&0xff) + 0.0722*lin(v&0xff)
	return 1.05 / (l + 0.05)
}
