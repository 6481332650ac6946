package preflight

import (
	"crypto/md5"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Status is a check's outcome as printed.
type Status string

// Statuses.
const (
	OK        Status = "ok"         // fine as it is
	Fixed     Status = "fixed"      // was not, and preflight fixed it
	WouldFix  Status = "would fix"  // --dry-run: preflight would fix it
	Granted   Status = "granted"    // the probe call was allowed
	Denied    Status = "denied"     // the probe call was refused (AccessDenied)
	NA        Status = "n/a"        // the service does not have the feature
	Warn      Status = "warn"       // works, but act on it
	CannotFix Status = "cannot fix" // preflight could not do it: do it by hand
	Missing   Status = "missing"    // does not exist and could not be made
	Unknown   Status = "unknown"    // could not be found out
	NotProbed Status = "not probed" // --dry-run, or no bucket to probe
)

// Row is one check.
type Row struct {
	Check  string
	Status Status
	Do     string // what it found or did, and what to do about it
	// Blocking: the copy cannot work until this is done.
	Blocking bool
	// Fine: denied, and nothing needs doing about it.
	Fine bool
}

// asksForWork tells whether the row asks the operator to do or check something.
func (r Row) asksForWork() bool {
	switch r.Status {
	case CannotFix, Warn, Unknown, Missing:
		return true
	case Denied:
		return !r.Fine
	}
	return r.Blocking
}

// Report is every check, in the order they ran.
type Report struct {
	Rows   []Row
	DryRun bool
}

// Blocking tells whether something the copy needs is missing.
func (r *Report) Blocking() bool {
	for _, row := range r.Rows {
		if row.Blocking {
			return true
		}
	}
	return false
}

// Row returns the row of check, and whether there is one.
func (r *Report) Row(check string) (Row, bool) {
	for _, row := range r.Rows {
		if row.Check == check {
			return row, true
		}
	}
	return Row{}, false
}

// Print writes the table and a closing line that says whether the copy can run.
func (r *Report) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tSTATUS\tWHAT TO DO")
	// The closing lines name the rows to act on: in a long table the one that asks for
	// work is easy to miss, and one that blocks must not hide the others.
	var blocking, byHand []string
	for _, row := range r.Rows {
		st := string(row.Status)
		if row.Blocking {
			st += " !"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", row.Check, st, row.Do)
		switch {
		case row.Blocking:
			blocking = append(blocking, row.Check)
		case row.asksForWork():
			byHand = append(byHand, row.Check)
		}
	}
	tw.Flush()
	rows := "rows ask"
	if len(byHand) == 1 {
		rows = "row asks"
	}
	switch {
	case len(blocking) > 0:
		fmt.Fprintf(w, "preflight: the copy cannot run until the rows marked ! are fixed: %s\n", strings.Join(blocking, ", "))
		if len(byHand) > 0 {
			fmt.Fprintf(w, "preflight: also, %d %s for something to be done by hand before `migrator cutover`: %s\n",
				len(byHand), rows, strings.Join(byHand, ", "))
		}
	case len(byHand) > 0:
		fmt.Fprintf(w, "preflight: the copy can run; %d %s for something to be done by hand before `migrator cutover`: %s\n",
			len(byHand), rows, strings.Join(byHand, ", "))
	default:
		fmt.Fprintln(w, "preflight: the destination is ready")
	}
	if r.DryRun {
		fmt.Fprintln(w, "preflight: --dry-run: nothing was changed")
	}
}

func md5sum(b []byte) [16]byte { return md5.Sum(b) }

func readAll(rc io.ReadCloser) ([]byte, error) {
	defer rc.Close()
	return io.ReadAll(rc)
}
