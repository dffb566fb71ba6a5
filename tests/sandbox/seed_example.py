import requests
import time

API_BASE = "https://api.krea.ai"
API_TOKEN = "your-token-secret"

# Step 1: Create generation job
response = requests.post(
    f"{API_BASE}/generate/image/bfl/flux-1-dev",
    headers={
        "Authorization": f"Bearer {API_TOKEN}",
        "Content-Type": "application/json"
    },
    json={
        "prompt": "a serene mountain landscape at sunset",
        "width": 1024,
        "height": 576,
        "steps": 28
    }
)
job = response.json()
job_id = job["job_id"]

# Step 2: Poll for completion
while True:
    response = requests.get(
        f"{API_BASE}/jobs/{job_id}",
        headers={"Authorization": f"Bearer {API_TOKEN}"}
    )
    job = response.json()

    if job["status"] == "completed":
        image_url = job["result"]["urls"][0]
        print(f"Image ready: {image_url}")
        break
    if job["status"] in ("failed", "cancelled"):
        raise Exception(f"Job failed: {job['status']}")

    print(f"Status: {job['status']}")
    time.sleep(2)
