// Debian's libxml2 headers pull in system ICU, whose UErrorCode clashes with Foundation's in clean
// debug builds (docs/PLATFORM-NOTES.md, "Building"): read the version header first and turn the ICU part off.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/xmlreader.h>
#include <libxml/xmlwriter.h>
#include <libxml/xmlerror.h>
#include <libxml/tree.h>
