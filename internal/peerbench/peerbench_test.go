package peerbench

import (
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{3 * s}, 3 * s},
		{[]time.Duration{5 * s, 1 * s, 3 * s}, 3 * s},
		{[]time.Duration{4 * s, 1 * s, 2 * s, 100 * s}, 3 * s},
	} {
		in := append([]time.Duration(nil), tc.in...)
		if got := Median(tc.in); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
		}
		for i := range in {
			if in[i] != tc.in[i] {
				t.Fatalf("Median reordered its argument: %v", tc.in)
			}
		}
	}
}

func TestCheckAnswers(t *testing.T) {
	want := map[string]string{"web1": "web1", "web2": "web2", "web3": "web3"}
	if err := CheckAnswers(want, map[string]string{"web1": "web1\n", "web2": " web2", "web3": "web3"}); err != nil {
		t.Errorf("all correct: %v", err)
	}
	err := CheckAnswers(want, map[string]string{"web1": "web9", "web3": "web3", "db1": "db1"})
	if err == nil {
		t.Fatal("wrong, missing and extra answers passed")
	}
	for _, part := range []string{"1 of 3 hosts did not answer: web2", `web1 answered "web9", want "web1"`, "1 answers from unexpected hosts: db1"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q lacks %q", err, part)
		}
	}
	if err := CheckAnswers(want, nil); err == nil || !strings.Contains(err.Error(), "3 of 3 hosts did not answer") {
		t.Errorf("no answers: %v", err)
	}
}

func TestFormatSeconds(t *testing.T) {
	for d, want := range map[time.Duration]string{
		152 * time.Second / 10:   "15.2 s",
		3200 * time.Millisecond:  "3.20 s",
		441 * time.Millisecond:   "0.441 s",
		12300 * time.Microsecond: "0.0123 s",
		150 * time.Second:        "150 s",
	} {
		if got := FormatSeconds(d); got != want {
			t.Errorf("FormatSeconds(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestTableMarkdown(t *testing.T) {
	got := Table{
		Header: []string{"peer", "N=10"},
		Rows:   [][]string{{"parallel-ssh", "0.41 s"}, {"x"}, {"≤ 0.8", "0.4–0.5"}},
	}.Markdown()
	want := "" +
		"| peer         |    N=10 |\n" +
		"| ------------ | ------: |\n" +
		"| parallel-ssh |  0.41 s |\n" +
		"| x            |         |\n" +
		"| ≤ 0.8        | 0.4–0.5 |\n"
	if got != want {
		t.Errorf("Markdown:\n%s\nwant:\n%s", got, want)
	}
}
