package main

import "testing"

func TestProcsIsHalfAtLeastOne(t *testing.T) {
	for def, want := range map[int]int{1: 1, 2: 1, 3: 1, 4: 2, 16: 8} {
		if got := procs(def); got != want {
			t.Errorf("procs(%d) = %d, want %d", def, got, want)
		}
	}
}
