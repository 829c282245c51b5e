package selector

import "strings"

// decimal is a number written in base 10: an optional sign, digits, and an
// optional fraction ("42", "-3", "+7", "1.50", "20240131235959"). Exponents,
// hexadecimal, underscores, "Inf" and "NaN" are not numbers here: tags are
// version-like strings, and those spellings only turn words such as "inf"
// or "nan" into numbers by accident.
//
// Flux's numerical ImagePolicy parses with strconv.ParseFloat, which rounds
// past 2^53; a decimal keeps its digits, so two build numbers or timestamps
// that differ in the last digit still order correctly. Leading zeros in the
// integer part and trailing zeros in the fraction do not change the value:
// "007", "7" and "7.0" are equal keys (their tags then order by string).
// "-0" equals "0".
type decimal struct {
	negative bool
	integer  string // no leading zeros; "" is zero
	fraction string // no trailing zeros
}

// parseDecimal reads s as a decimal; ok is false when s is not one.
func parseDecimal(s string) (d decimal, ok bool) {
	switch {
	case strings.HasPrefix(s, "-"):
		d.negative, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	integer, fraction, dot := strings.Cut(s, ".")
	if !digitsOnly(integer) || (dot && !digitsOnly(fraction)) {
		return decimal{}, false
	}
	d.integer = strings.TrimLeft(integer, "0")
	d.fraction = strings.TrimRight(fraction, "0")
	if d.integer == "" && d.fraction == "" {
		d.negative = false
	}
	return d, true
}

// digitsOnly reports whether s is one or more ASCII digits.
func digitsOnly(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// compare returns -1, 0 or +1 as d is less than, equal to or greater than o.
func (d decimal) compare(o decimal) int {
	if d.negative != o.negative {
		if d.negative {
			return -1
		}
		return 1
	}
	c := d.compareMagnitude(o)
	if d.negative {
		return -c
	}
	return c
}

// compareMagnitude compares absolute values: more integer digits is
// larger; with as many, the digits decide, then the fraction digit by digit.
func (d decimal) compareMagnitude(o decimal) int {
	if len(d.integer) != len(o.integer) {
		if len(d.integer) < len(o.integer) {
			return -1
		}
		return 1
	}
	if c := strings.Compare(d.integer, o.integer); c != 0 {
		return c
	}
	// Without trailing zeros, a plain string comparison of fractions is a
	// numeric one: "5" > "49" just as 0.5 > 0.49, and a prefix is smaller.
	return strings.Compare(d.fraction, o.fraction)
}
