package ocilayout

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The registry API subset the sync engine (go-containerregistry's remote
// package) speaks, answered from the layout: blobs stream between the
// request and the files, never held in memory.

// upload is a blob upload under way: a temporary file and its running hash.
type upload struct {
	f    *os.File
	h    hash.Hash
	size int64
}

// serve answers one registry request for repository repoName.
func (s *Store) serve(w http.ResponseWriter, r *http.Request, repoName, rest string) {
	kind, arg, _ := strings.Cut(rest, "/")
	switch {
	case kind == "tags" && arg == "list" && r.Method == http.MethodGet:
		s.listTags(w, repoName)
	case kind == "manifests" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		s.getManifest(w, r, repoName, arg)
	case kind == "manifests" && r.Method == http.MethodPut && s.writable:
		s.putManifest(w, r, repoName, arg)
	case kind == "blobs" && strings.HasPrefix(arg, "uploads") && s.writable:
		s.uploadBlob(w, r, repoName, strings.TrimPrefix(strings.TrimPrefix(arg, "uploads"), "/"))
	case kind == "blobs" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		s.getBlob(w, r, arg)
	case kind == "referrers" && r.Method == http.MethodGet:
		s.listReferrers(w, repoName, arg)
	case r.Method != http.MethodGet && r.Method != http.MethodHead && !s.writable:
		apiError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", s.label()+" is read-only")
	default:
		apiError(w, http.StatusNotFound, "NOT_FOUND", r.Method+" "+r.URL.Path+" is not served by an OCI layout")
	}
}

// apiError writes a registry error document.
func apiError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
}

func (s *Store) listTags(w http.ResponseWriter, repoName string) {
	s.mu.Lock()
	r, ok := s.repos[repoName]
	var tags []string
	if ok {
		tags = sortedKeys(r.tags)
	}
	s.mu.Unlock()
	if !ok {
		apiError(w, http.StatusNotFound, "NAME_UNKNOWN", "repository "+repoName+" is not in "+s.label())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"name": repoName, "tags": tags})
}

// resolve finds a tag or digest of repoName.
func (s *Store) resolve(repoName, ref string) (*manifestInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[repoName]
	if r == nil {
		return nil, false
	}
	if d, err := v1.NewHash(ref); err == nil {
		if !r.digests[d] {
			return nil, false
		}
		return s.manifests[d], true
	}
	d, ok := r.tags[ref]
	if !ok {
		return nil, false
	}
	return s.manifests[d], true
}

func (s *Store) getManifest(w http.ResponseWriter, r *http.Request, repoName, ref string) {
	info, ok := s.resolve(repoName, ref)
	if !ok {
		apiError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", repoName+":"+ref+" is not in "+s.label())
		return
	}
	w.Header().Set("Content-Type", string(info.desc.MediaType))
	w.Header().Set("Docker-Content-Digest", info.desc.Digest.String())
	w.Header().Set("Content-Length", strconv.FormatInt(info.desc.Size, 10))
	if r.Method == http.MethodHead {
		return
	}
	raw, err := s.readManifest(info.desc.Digest)
	if err != nil {
		apiError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
		return
	}
	_, _ = w.Write(raw)
}

func (s *Store) putManifest(w http.ResponseWriter, r *http.Request, repoName, ref string) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxManifest+1))
	if err != nil || len(raw) > maxManifest {
		apiError(w, http.StatusBadRequest, "MANIFEST_INVALID", fmt.Sprintf("manifest unreadable or over %d bytes: %v", maxManifest, err))
		return
	}
	info, err := describe(raw, types.MediaType(r.Header.Get("Content-Type")))
	if err != nil {
		apiError(w, http.StatusBadRequest, "MANIFEST_INVALID", err.Error())
		return
	}
	d := info.desc.Digest
	if want, err := v1.NewHash(ref); err == nil && want != d {
		apiError(w, http.StatusBadRequest, "DIGEST_INVALID", "manifest is "+d.String()+", not "+ref)
		return
	}
	if _, err := os.Stat(s.blobPath(d)); err != nil {
		if err := writeFileAtomic(s.blobPath(d), raw); err != nil {
			apiError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
			return
		}
	}
	s.mu.Lock()
	s.manifests[d] = info
	rp := s.repo(repoName)
	rp.digests[d] = true
	if _, err := v1.NewHash(ref); err != nil {
		rp.tags[ref] = d
	}
	s.mu.Unlock()
	w.Header().Set("Docker-Content-Digest", d.String())
	if info.subject != nil {
		w.Header().Set("OCI-Subject", info.subject.String())
	}
	w.WriteHeader(http.StatusCreated)
}

func (s *Store) getBlob(w http.ResponseWriter, r *http.Request, digest string) {
	d, err := v1.NewHash(digest)
	if err != nil {
		apiError(w, http.StatusBadRequest, "DIGEST_INVALID", err.Error())
		return
	}
	f, err := os.Open(s.blobPath(d))
	if err != nil {
		apiError(w, http.StatusNotFound, "BLOB_UNKNOWN", "blob "+digest+" is not in "+s.label())
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		apiError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Docker-Content-Digest", d.String())
	w.Header().Set("Content-Length", strconv.FormatInt(st.Size(), 10))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = io.Copy(w, f)
}

// uploadBlob answers POST (start, or mount a blob the layout has), PATCH
// (append) and PUT (append and commit under the digest, checked).
func (s *Store) uploadBlob(w http.ResponseWriter, r *http.Request, repoName, id string) {
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPost && id == "":
		if m := q.Get("mount"); m != "" {
			if d, err := v1.NewHash(m); err == nil {
				if _, err := os.Stat(s.blobPath(d)); err == nil {
					w.Header().Set("Location", "/v2/"+repoName+"/blobs/"+m)
					w.Header().Set("Docker-Content-Digest", m)
					w.WriteHeader(http.StatusCreated)
					return
				}
			}
		}
		f, err := os.CreateTemp(s.dir, ".upload-*")
		if err != nil {
			apiError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
			return
		}
		id := randomID()
		s.mu.Lock()
		s.uploads[id] = &upload{f: f, h: sha256.New()}
		s.mu.Unlock()
		w.Header().Set("Location", uploadPath(r, id))
		w.Header().Set("Range", "0-0")
		w.WriteHeader(http.StatusAccepted)
	case r.Method == http.MethodPatch || r.Method == http.MethodPut:
		s.mu.Lock()
		u := s.uploads[id]
		s.mu.Unlock()
		if u == nil {
			apiError(w, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN", "no upload "+id)
			return
		}
		var n int64
		var err error
		if r.Body != nil {
			n, err = io.Copy(io.MultiWriter(u.f, u.h), r.Body)
		}
		u.size += n
		if err != nil {
			s.abort(id, u)
			apiError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
			return
		}
		if r.Method == http.MethodPatch {
			w.Header().Set("Location", uploadPath(r, id))
			w.Header().Set("Range", fmt.Sprintf("0-%d", max(u.size-1, 0)))
			w.WriteHeader(http.StatusAccepted)
			return
		}
		s.commit(w, id, u, q.Get("digest"))
	default:
		apiError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", r.Method+" of a blob upload")
	}
}

// commit checks an upload's digest and moves it under blobs/.
func (s *Store) commit(w http.ResponseWriter, id string, u *upload, digest string) {
	defer s.abort(id, u)
	got := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(u.h.Sum(nil))}
	if got.String() != digest {
		apiError(w, http.StatusBadRequest, "DIGEST_INVALID", fmt.Sprintf("upload is %s, not %s", got, digest))
		return
	}
	if err := u.f.Close(); err != nil {
		apiError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
		return
	}
	if err := os.Rename(u.f.Name(), s.blobPath(got)); err != nil {
		apiError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
		return
	}
	w.Header().Set("Docker-Content-Digest", digest)
	w.WriteHeader(http.StatusCreated)
}

// abort forgets an upload and removes its file (gone already once committed).
func (s *Store) abort(id string, u *upload) {
	s.mu.Lock()
	delete(s.uploads, id)
	s.mu.Unlock()
	u.f.Close()
	_ = os.Remove(u.f.Name()) // already gone when it was committed
}

func uploadPath(r *http.Request, id string) string {
	p := strings.TrimSuffix(r.URL.Path, "/")
	if !strings.HasSuffix(p, "/"+id) {
		p += "/" + id
	}
	return p
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// listReferrers answers the OCI referrers API from the manifests of
// repoName whose subject is digest.
func (s *Store) listReferrers(w http.ResponseWriter, repoName, digest string) {
	d, err := v1.NewHash(digest)
	if err != nil {
		apiError(w, http.StatusBadRequest, "DIGEST_INVALID", err.Error())
		return
	}
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{}}
	s.mu.Lock()
	if r := s.repos[repoName]; r != nil {
		for _, m := range sortedKeys(r.digests) {
			if info := s.manifests[m]; info.subject != nil && *info.subject == d {
				idx.Manifests = append(idx.Manifests, info.desc)
			}
		}
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", string(types.OCIImageIndex))
	_ = json.NewEncoder(w).Encode(idx)
}

// Close removes the files of uploads never committed.
func (s *Store) Close() {
	s.mu.Lock()
	ups := s.uploads
	s.uploads = map[string]*upload{}
	s.mu.Unlock()
	for id, u := range ups {
		s.abort(id, u)
	}
}
