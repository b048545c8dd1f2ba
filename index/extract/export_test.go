package extract

// SetPDFFontBytes sets the bound on the ToUnicode bytes parsed for one
// document and returns a function that restores it.
func SetPDFFontBytes(n int64) (restore func()) {
	old := maxPDFFontBytes
	maxPDFFontBytes = n
	return func() { maxPDFFontBytes = old }
}
