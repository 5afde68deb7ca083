async def test_home_page(client):
    response = await client.get("/")
    assert response.status_code == 200
    assert "Buat Laporan" in response.text
