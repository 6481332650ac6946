package s3

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// Listing answers as services write them. The scanner must read each as encoding/xml
// does, or leave it to encoding/xml.
var listAnswers = map[string]string{
	"minio": `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>mobs</Name><Prefix></Prefix><NextContinuationToken>MTAwMDAwMDAwMDAwMDAwMDA=</NextContinuationToken><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated><Contents><Key>1000040028785578560/dom.mobs</Key><LastModified>2026-12-01T22:40:11.123Z</LastModified><ETag>&#34;a7acdccf6f87e631c69390024f69577b&#34;</ETag><Size>256</Size><StorageClass>STANDARD</StorageClass></Contents><Contents><Key>a%26b%3Cc%3E</Key><LastModified>2026-12-01T22:40:12Z</LastModified><ETag>&#34;0f343b0931126a20f133d67c2b018a3b-3&#34;</ETag><Size>15728640</Size><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>`,
	"indented, with owners and common prefixes": `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns='http://s3.amazonaws.com/doc/2006-03-01/'>
  <Name>mobs</Name>
  <IsTruncated> false </IsTruncated>
  <Contents>
    <Key>sessions/a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#x6F22;</Key>
    <LastModified>2026-12-01T22:40:11.000Z</LastModified>
    <ETag>"9b2cf535f27731c974343645a3985328"</ETag>
    <Size> 12 </Size>
    <Owner><ID>owner</ID><DisplayName>someone</DisplayName></Owner>
    <ChecksumAlgorithm>CRC32</ChecksumAlgorithm>
  </Contents>
  <!-- a comment -->
  <Contents><Key>x</Key><Size>0</Size><LastModified>2026-12-01T22:40:11Z</LastModified><ETag/></Contents>
  <CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes>
</ListBucketResult>
`,
	"empty": `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>mobs</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>`,
	"CDATA": `<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key><![CDATA[a<b]]></Key><Size>1</Size><LastModified>2026-12-01T22:40:11Z</LastModified></Contents></ListBucketResult>`,
	"prefixed names": `<s3:ListBucketResult xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/"><s3:IsTruncated>false</s3:IsTruncated>` +
		`<s3:Contents><s3:Key>k</s3:Key><s3:Size>1</s3:Size><s3:LastModified>2026-12-01T22:40:11Z</s3:LastModified></s3:Contents></s3:ListBucketResult>`,
	"a comment within a key":   `<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a<!-- x -->b</Key><Size>1</Size><LastModified>2026-12-01T22:40:11Z</LastModified></Contents></ListBucketResult>`,
	"two roots":                `<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult><ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>`,
	"an attribute holding '>'": `<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key note="a>b">k</Key><Size>1</Size><LastModified>2026-12-01T22:40:11Z</LastModified></Contents></ListBucketResult>`,
}

func TestListAnswersReadAsEncodingXMLReadsThem(t *testing.T) {
	for name, doc := range listAnswers {
		got, err := parseListPage([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want, err := decodeListPage([]byte(doc))
		if err != nil {
			t.Fatalf("%s: encoding/xml: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, want)
		}
	}
	p, _ := parseListPage([]byte(listAnswers["minio"]))
	if !p.truncated || p.next != "MTAwMDAwMDAwMDAwMDAwMDA=" || p.encoding != "url" || len(p.objects) != 2 ||
		p.objects[1].Key != "a%26b%3Cc%3E" || p.objects[1].Size != 15728640 || p.objects[1].ETag != `"0f343b0931126a20f133d67c2b018a3b-3"` {
		t.Fatalf("MinIO's answer read as %+v", p)
	}
	if _, ok := scanListPage([]byte(listAnswers["minio"])); !ok {
		t.Fatal("the scanner left MinIO's own answer to encoding/xml")
	}
	for _, name := range []string{"CDATA", "prefixed names", "an attribute holding '>'", "a comment within a key", "two roots"} {
		if _, ok := scanListPage([]byte(listAnswers[name])); ok {
			t.Errorf("the scanner read the answer with %s itself; it must leave it to encoding/xml", name)
		}
	}
	if _, err := parseListPage([]byte(`<ListBucketResult><Contents><Key>a</Key>`)); err == nil ||
		!strings.Contains(err.Error(), "unreadable listing") {
		t.Fatalf("a cut-off answer: %v; want an unreadable listing", err)
	}
}

// FuzzListPage: what the scanner and encoding/xml both read, they read alike. (The
// scanner may take malformed XML encoding/xml refuses, such as a bad character in a
// name; no service writes it.)
func FuzzListPage(f *testing.F) {
	for _, doc := range listAnswers {
		f.Add(doc)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		got, ok := scanListPage([]byte(doc))
		if !ok {
			return
		}
		want, err := decodeListPage([]byte(doc))
		if err != nil {
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %+v\nwant %+v", doc, got, want)
		}
	})
}

// BenchmarkListPage reads one page of 1,000 recordings' keys, as MinIO writes it, with
// the scanner and with encoding/xml (what minio-go reads it with).
func BenchmarkListPage(b *testing.B) {
	var doc strings.Builder
	doc.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>mobs</Name><Prefix></Prefix><NextContinuationToken>MTAwMDAwMDAwMDAwMDAwMDA=</NextContinuationToken><KeyCount>1000</KeyCount><MaxKeys>1000</MaxKeys><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>`)
	for i := range 1000 {
		fmt.Fprintf(&doc, `<Contents><Key>%019d/dom.mobs</Key><LastModified>2026-12-01T22:40:11.123Z</LastModified><ETag>&#34;a7acdccf6f87e631c69390024f69577b&#34;</ETag><Size>%d</Size><StorageClass>STANDARD</StorageClass></Contents>`,
			uint64(i)*7_919_000_000_001, 256+i)
	}
	doc.WriteString(`</ListBucketResult>`)
	body := []byte(doc.String())
	for _, r := range []struct {
		name string
		read func([]byte) (listResult, error)
	}{{"scanner", parseListPage}, {"encoding-xml", decodeListPage}} {
		b.Run(r.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if p, err := r.read(body); err != nil || len(p.objects) != 1000 {
					b.Fatal(len(p.objects), err)
				}
			}
		})
	}
}
