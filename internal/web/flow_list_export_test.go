package web

// Hooks for flow_list_test; compiled only into the test binary.

var AADSTSMessageForTest = aadstsMessage
