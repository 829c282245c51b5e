package cloudhost

import "testing"

func TestCheck(t *testing.T) {
	good := map[string][]string{
		ECR: {"123456789012.dkr.ecr.us-east-1.amazonaws.com", "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
			"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", "123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov", "public.ecr.aws"},
		GAR: {"us-docker.pkg.dev", "europe-west1-docker.pkg.dev", "gcr.io", "eu.gcr.io"},
		ACR: {"myregistry.azurecr.io", "myregistry.azurecr.cn", "myregistry.azurecr.us"},
	}
	bad := map[string][]string{
		ECR: {"12345.dkr.ecr.us-east-1.amazonaws.com", "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.io", "ecr.aws", "ghcr.io"},
		GAR: {"docker.pkg.dev", "gcr.io.example.com", "us-docker.pkg.dev:443"},
		ACR: {"azurecr.io", "myregistry.azurecr.io.example.com", "myregistry.azurecr.com"},
	}
	for p, hosts := range good {
		for _, h := range hosts {
			if err := Check(p, h); err != nil {
				t.Errorf("Check(%s, %s) = %v", p, h, err)
			}
		}
	}
	for p, hosts := range bad {
		for _, h := range hosts {
			if err := Check(p, h); err == nil {
				t.Errorf("Check(%s, %s) accepted it", p, h)
			}
		}
	}
}

func TestParseECR(t *testing.T) {
	r, ok := ParseECR("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com")
	if !ok || r.Account != "123456789012" || r.Region != "us-gov-west-1" || !r.FIPS || r.Public {
		t.Errorf("got %+v %v", r, ok)
	}
	r, ok = ParseECR(ECRPublic)
	if !ok || !r.Public || r.Region != "us-east-1" {
		t.Errorf("public: got %+v %v", r, ok)
	}
	if ACRCloud("x.azurecr.cn") != "cn" {
		t.Error("ACRCloud")
	}
}
