package main

import "testing"

func TestProcsIsHalfAtLeastOneAndEveryCPUOverTLS(t *testing.T) {
	for def, want := range map[int]int{1: 1, 2: 1, 3: 1, 4: 2, 16: 8} {
		if got := procs(def, false); got != want {
			t.Errorf("procs(%d, plain) = %d, want %d", def, got, want)
		}
		if got := procs(def, true); got != def {
			t.Errorf("procs(%d, TLS) = %d, want every CPU", def, got)
		}
	}
}
