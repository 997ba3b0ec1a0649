package server

import (
	"errors"
	"math"
	"testing"

	"github.com/statusd/statusd/data"
)

func TestContrastWithWhite(t *testing.T) {
	tests := []struct {
		hex  string
		want float64
	}{
		{"#ffffff", 1},
		{"#000000", 21},
		{"#767676", 4.54}, // the lightest grey that passes AA
		{"#777777", 4.47},
		{"#0b57d0", 6.39},
		{"#0B57D0", 6.39},
		{"0b57d0", 0},
		{"#0b57d", 0},
	}
	for _, tt := range tests {
		if got := ContrastWithWhite(tt.hex); math.Abs(got-tt.want) > 0.01 {
			t.Errorf("ContrastWithWhite(%q) = %.3f; want %.2f", tt.hex, got, tt.want)
		}
	}
}

func TestCheckAccentColor(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"#0B57D0", "#0b57d0", false},
		{"#767676", "#767676", false},
		{"#777777", "", true},
		{"#fff", "", true},
		{"blue", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		got, err := CheckAccentColor(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("CheckAccentColor(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		var inv *data.InvalidError
		if err != nil && (!errors.As(err, &inv) || inv.Field != "accent_color") {
			t.Errorf("CheckAccentColor(%q) error = %#v; want a *data.InvalidError for accent_color", tt.in, err)
		}
	}
}
