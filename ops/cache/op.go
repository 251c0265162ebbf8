package cache

import "strings"

// RecordCommand is what a flush run's record says was run: what each host
// flushed (the per-host commands are long scripts, and hold no secret).
func RecordCommand(specs []Spec) string {
	parts := make([]string, len(specs))
	for i, s := range specs {
		parts[i] = s.Host + ": " + s.Server()
	}
	return "flush " + strings.Join(parts, "; ")
}
