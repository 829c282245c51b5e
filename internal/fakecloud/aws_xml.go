package fakecloud

import (
	"encoding/xml"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// xmlCredentials is the Credentials element of STS replies.
type xmlCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type xmlAssumedRoleUser struct {
	Arn           string `xml:"Arn"`
	AssumedRoleID string `xml:"AssumedRoleId"`
}

type xmlAssumeRoleResult struct {
	Credentials                 xmlCredentials     `xml:"Credentials"`
	SubjectFromWebIdentityToken string             `xml:"SubjectFromWebIdentityToken"`
	AssumedRoleUser             xmlAssumedRoleUser `xml:"AssumedRoleUser"`
}

type xmlResponseMetadata struct {
	RequestID string `xml:"RequestId"`
}

type xmlAssumeRoleResponse struct {
	XMLName  xml.Name            `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleWithWebIdentityResponse"`
	Result   xmlAssumeRoleResult `xml:"AssumeRoleWithWebIdentityResult"`
	Metadata xmlResponseMetadata `xml:"ResponseMetadata"`
}

type xmlCallerIdentityResult struct {
	Arn     string `xml:"Arn"`
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
}

type xmlCallerIdentityResponse struct {
	XMLName  xml.Name                `xml:"https://sts.amazonaws.com/doc/2011-06-15/ GetCallerIdentityResponse"`
	Result   xmlCallerIdentityResult `xml:"GetCallerIdentityResult"`
	Metadata xmlResponseMetadata     `xml:"ResponseMetadata"`
}

// CallerIdentity is the result of sts:GetCallerIdentity.
type CallerIdentity struct {
	// Arn is the caller's ARN.
	Arn string
	// Account is the caller's account.
	Account string
	// UserID is the caller's unique id.
	UserID string
}

// ParseCallerIdentity reads a GetCallerIdentity reply, as a registry that
// replayed the aws envelope would.
func ParseCallerIdentity(body []byte) (CallerIdentity, error) {
	var r xmlCallerIdentityResponse
	if err := xml.Unmarshal(body, &r); err != nil {
		return CallerIdentity{}, err
	}
	return CallerIdentity{Arn: r.Result.Arn, Account: r.Result.Account, UserID: r.Result.UserID}, nil
}

func assumeRoleResponse(c aws.Credentials, arn string) xmlAssumeRoleResponse {
	return xmlAssumeRoleResponse{
		Result: xmlAssumeRoleResult{
			Credentials: xmlCredentials{
				AccessKeyID:     c.AccessKeyID,
				SecretAccessKey: c.SecretAccessKey,
				SessionToken:    c.SessionToken,
				Expiration:      c.Expires.UTC().Format(time.RFC3339),
			},
			SubjectFromWebIdentityToken: "system:serviceaccount:flux-system:flux-mirror",
			AssumedRoleUser:             xmlAssumedRoleUser{Arn: arn, AssumedRoleID: c.AccessKeyID},
		},
		Metadata: xmlResponseMetadata{RequestID: "fakecloud"},
	}
}

func callerIdentityResponse(arn, account, keyID string) xmlCallerIdentityResponse {
	return xmlCallerIdentityResponse{
		Result:   xmlCallerIdentityResult{Arn: arn, UserID: keyID, Account: account},
		Metadata: xmlResponseMetadata{RequestID: "fakecloud"},
	}
}
