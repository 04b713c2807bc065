package testkit

import (
	"sort"
	"time"
)

// Median is the middle of the durations (the mean of the two middle ones for an even count): the
// timing tests compare medians, which one slow try cannot move.
func Median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
