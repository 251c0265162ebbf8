package ops

import (
	"reflect"
	"strings"
	"testing"

	"github.com/opsui/opsui/inventory"
)

// TestParseEnvAssignments: KEY=VALUE is a plain value (which may hold '='
// and '@'), KEY@SECRET a secret reference; whichever separator comes first
// decides. Bad keys and shapes are refused with the reason.
func TestParseEnvAssignments(t *testing.T) {
	got, err := ParseEnvAssignments([]string{"A=1", "EMAIL=ops@example.com", "URL=x=y", "EMPTY=", "KEY@stripe_live"})
	want := map[string]inventory.EnvValue{"A": {Value: "1"}, "EMAIL": {Value: "ops@example.com"}, "URL": {Value: "x=y"},
		"EMPTY": {Value: ""}, "KEY": {Secret: "stripe_live"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, %v\nwant %v", got, err, want)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"NOVALUE"}, "give KEY=VALUE"},
		{[]string{"=x"}, "give KEY=VALUE"},
		{[]string{"1A=x"}, "invalid environment key"},
		{[]string{"PATH=/bin"}, "reserved"},
		{[]string{"OPSUI_X=1"}, "reserved"},
		{[]string{"K@"}, "name the secret"},
		{[]string{"A=1", "A=2"}, "given twice"},
		{nil, "at least one"},
	} {
		if _, err := ParseEnvAssignments(c.args); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.args, err, c.want)
		}
	}
}
