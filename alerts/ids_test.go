package alerts

import "github.com/earshot/earshot/caselog"

// Event ids the tests look up (caselog's, under the names they use).
func routedID(caseID string) string           { return caselog.RoutedID(caseID) }
func queuedID(caseID, receiver string) string { return caselog.QueuedID(caseID, receiver) }
func notifiedID(caseID, receiver string, step int) string {
	return caselog.NotifiedID(caseID, receiver, step)
}
