package copy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// errFolderKey: the destination keeps keys ending in "/" as folders and refused this
// object's bytes there.
var errFolderKey = errors.New("the destination keeps keys ending in / as folders and refuses bytes under them " +
	"(versitygw's posix backend answers DirectoryObjectContainsData); this object cannot be stored there under this key, " +
	"and empty ones copied there lose their Content-Type, Content-Encoding and Cache-Control (verify --deep names them)")

// explainFolderKey says what a refusal of a folder key's body means, where the
// destination's answer shows it; other errors pass as they are.
func explainFolderKey(key string, err error) error {
	var se *store.Error
	if strings.HasSuffix(key, "/") && errors.As(err, &se) && se.Code == "DirectoryObjectContainsData" {
		return fmt.Errorf("%w: %w", errFolderKey, err)
	}
	return err
}
