package registry

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// peakMemory samples the heap in use and the process's resident memory
// until stop is called, which returns the peaks in bytes.
func peakMemory() (stop func() (heap, rss uint64)) {
	var (
		wg              sync.WaitGroup
		done            = make(chan struct{})
		maxHeap, maxRSS uint64
	)
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			maxHeap = max(maxHeap, ms.HeapInuse)
			maxRSS = max(maxRSS, residentBytes())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() (uint64, uint64) {
		close(done)
		wg.Wait()
		return maxHeap, maxRSS
	}
}

// residentBytes is the process's resident set size from /proc/self/statm.
func residentBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b))
	if len(fields) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(fields[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// TestChunkedUploadMemory pushes a 128 MiB blob in 512 KiB chunks through
// nginx with client_max_body_size 1m and prints the peak memory; the heap
// grows by far less than the blob (a chunk buffer per upload).
func TestChunkedUploadMemory(t *testing.T) {
	const blobSize, chunkKiB = 128 << 20, 512
	reg := testenv.StartRegistryWith(t, testenv.RegistryOptions{Debian: true})
	proxy := testenv.StartNginxProxy(t, "http://"+reg.Host, testenv.NginxOptions{MaxBodySize: "1m"})
	img, err := mutate.AppendLayers(empty.Image, testenv.NewBlob(t, 42, blobSize).Layer())
	if err != nil {
		t.Fatal(err)
	}
	r, _ := newRegistries(t, t.TempDir(), config.Host{Host: proxy.Host, MaxChunkSize: chunkKiB})
	ref := proxy.Host + "/demo/huge:v1"

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	stop := peakMemory()
	start := time.Now()
	err = push(ref, img, r.RemoteOptions())
	elapsed := time.Since(start)
	heap, rss := stop()
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	growth := int64(heap) - int64(base.HeapInuse)
	t.Logf("pushed a %d MiB blob in %d KiB chunks in %s: peak heap in use %.1f MiB (%.1f MiB above the %.1f MiB before), peak RSS %.1f MiB",
		blobSize>>20, chunkKiB, elapsed.Round(time.Millisecond), mib(heap), float64(growth)/(1<<20), mib(base.HeapInuse), mib(rss))
	if growth > blobSize/8 {
		t.Errorf("the heap grew by %.1f MiB for a %d MiB blob: the upload is not bounded by the chunk size", float64(growth)/(1<<20), blobSize>>20)
	}
	checkPatches(t, proxy, chunkKiB<<10, blobSize/(chunkKiB<<10))
	got, err := pull(ref, r.RemoteOptions())
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	if want, _ := img.Digest(); got != want {
		t.Fatalf("pulled %s, pushed %s", got, want)
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
